//! Request bodies as any client may send them: the JSON checks answer a 4xx
//! naming what to fix, or pass a value on; never a panic, never a 5xx.
#![no_main]

use lambda_http::{Body, Request};
use libfuzzer_sys::fuzz_target;
use shared::{campaign::Draft, http::parse_json};
use signup::form::{MenteeForm, MentorForm};

fn request(body: &[u8]) -> Request {
    let mut request = Request::new(Body::from(body.to_vec()));
    request.headers_mut().insert(
        "content-type",
        "application/json; charset=utf-8".parse().unwrap(),
    );
    request
}

fn refused_as_a_client_error(error: shared::http::ApiError) {
    assert!(error.status.is_client_error(), "{error:?}");
    assert!(!error.code.is_empty() && !error.message.is_empty());
}

fuzz_target!(|body: &[u8]| {
    let request = request(body);
    if let Err(error) = parse_json::<MenteeForm>(&request) {
        refused_as_a_client_error(error);
    }
    if let Err(error) = parse_json::<MentorForm>(&request) {
        refused_as_a_client_error(error);
    }
    if let Err(error) = parse_json::<Draft>(&request) {
        refused_as_a_client_error(error);
    }
});
