//! A step's fault parameters as a family reads them. Each read is noted, so the
//! parameters a kind takes are the ones its family reads: a parameter set on a step
//! whose family never reads it is refused, with the list of those it does read. No
//! list of what each kind takes is kept by hand.

use super::Report;
use crate::model::kinds::FaultKind;
use crate::model::units::{Percent, Size, Span};
use crate::scenario::{BlobRef, Direction, ErrorStatus, LatencyVia, OutageMode, Pick, Step};
use std::cell::RefCell;

pub(crate) struct Given<'a> {
    step: &'a Step,
    read: RefCell<Vec<&'static str>>,
}

macro_rules! parameters {
    ($($name:ident: $ty:ty),* $(,)?) => {
        impl Given<'_> {
            $(
                pub(crate) fn $name(&self) -> Option<$ty> {
                    self.note(stringify!($name));
                    self.step.$name.clone()
                }
            )*
        }
    };
}

parameters! {
    pick: Pick,
    mode: OutageMode,
    direction: Direction,
    rate: Size,
    loss: Percent,
    delay: Span,
    jitter: Span,
    via: LatencyVia,
    image: String,
    blob: BlobRef,
    groups: Vec<Vec<String>>,
    status: ErrorStatus,
    retry_after: Span,
    name: String,
    inject: Vec<String>,
    heal: Vec<String>,
    timeout: Span,
    regions: Vec<String>,
}

impl<'a> Given<'a> {
    pub(crate) fn new(step: &'a Step) -> Given<'a> {
        Given {
            step,
            read: RefCell::new(Vec::new()),
        }
    }

    /// The target as written (not a parameter: every kind but a partition and the
    /// upstream's faults needs one).
    pub(crate) fn target(&self) -> Option<&'a str> {
        self.step.target.as_deref()
    }

    fn note(&self, name: &'static str) {
        let mut read = self.read.borrow_mut();
        if !read.contains(&name) {
            read.push(name);
        }
    }

    /// Refuses every parameter set on the step that its family did not read.
    pub(crate) fn refuse_unread(&self, kind: FaultKind, r: &mut Report) {
        let read = self.read.borrow();
        for given in self.step.given() {
            if read.contains(&given) {
                continue;
            }
            let takes = match read.as_slice() {
                [] => "no parameters".to_string(),
                list => list.join(", "),
            };
            r.problem(
                given,
                format!(
                    "{} does not take `{given}` (it takes: {takes})",
                    kind.name()
                ),
            );
        }
    }
}
