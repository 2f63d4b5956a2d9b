//! What reaches the token service and drill's client from the network: a request
//! through the token service's decisions, and text through the parsers of
//! `WWW-Authenticate` challenges and scopes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use registry_drill::token;
use registry_drill::token_service::TokenService;
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static SERVICE: OnceLock<TokenService> = OnceLock::new();
    let service = SERVICE.get_or_init(|| TokenService::throwaway("fuzz"));
    if let Some(reply) = service.answer_packed(data) {
        assert!((200..600).contains(&reply.status));
    }
    let text = String::from_utf8_lossy(data);
    let _ = token::parse_challenge(&text);
    let _ = token::parse_scope(&text);
});
