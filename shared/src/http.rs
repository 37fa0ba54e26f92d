//! HTTP for API Gateway (payload v2) handlers: the one place where errors
//! become responses, and where request bodies are checked and parsed.
//!
//! API errors are JSON `{"code": "...", "message": "..."}`: the code is stable
//! for programs, the message is French for people and says what to fix.

use lambda_http::{Body, Request, RequestExt, Response, http::StatusCode, request::RequestContext};
use serde::{Serialize, de::DeserializeOwned};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ApiError {
    #[serde(skip)]
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    /// 400 naming every invalid field with what to fix.
    pub fn invalid_fields(fields: Vec<FieldError>) -> Self {
        let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        let message = format!("Corrigez les champs suivants : {}.", names.join(", "));
        Self {
            fields,
            ..Self::new(StatusCode::BAD_REQUEST, "invalid_fields", message)
        }
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Cette adresse n'existe pas.",
        )
    }

    /// A dependency failed after the SDK's own retries; the client may retry.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Le service est momentanément indisponible. Réessayez dans quelques minutes : votre demande n'a pas été enregistrée.",
        )
    }

    pub fn respond(&self) -> Response<Body> {
        let mut response = json(self.status, self);
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert("retry-after", RETRY_AFTER_SECONDS.into());
        }
        response
    }
}

/// When a client may try again after a 503.
pub const RETRY_AFTER_SECONDS: u32 = 30;

/// A storage failure reaches a person as a 503 they may retry; its cause
/// is logged here, once.
impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> Self {
        tracing::error!(%error, "storage failed");
        Self::unavailable()
    }
}

pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .body(Body::Text(
            serde_json::to_string(value).expect("response types serialize"),
        ))
        .expect("static headers are valid")
}

/// The API Gateway route key ("POST /v1/newsletter") the request came through.
pub fn route_key(request: &Request) -> Option<&str> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => context.route_key.as_deref(),
        _ => None,
    }
}

/// The client's address as API Gateway saw it (for rate limits only: never logged or stored as is).
pub fn source_ip(request: &Request) -> Option<&str> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => context.http.source_ip.as_deref(),
        _ => None,
    }
}

/// A reason given in a few words (a decline, a rejection): 3 to 500
/// characters once trimmed; otherwise `message` on the field `reason`.
pub fn short_reason(raw: Option<&str>, message: &str) -> Result<String, ApiError> {
    raw.map(str::trim)
        .filter(|reason| (3..=500).contains(&reason.chars().count()))
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::invalid_fields(vec![FieldError {
                field: "reason".into(),
                message: message.into(),
            }])
        })
}

/// One query-string parameter.
pub fn query_parameter(request: &Request, name: &str) -> Option<String> {
    request
        .query_string_parameters_ref()
        .and_then(|parameters| parameters.first(name))
        .map(str::to_owned)
}

/// Checks size and content type, then parses a JSON body into `T` (which
/// should deny unknown fields), naming the offending field on failure.
pub fn parse_json<T: DeserializeOwned>(request: &Request) -> Result<T, ApiError> {
    parse_json_up_to(request, MAX_BODY_BYTES)
}

/// As [`parse_json`], for the few routes that take longer texts.
pub fn parse_json_up_to<T: DeserializeOwned>(
    request: &Request,
    max_bytes: usize,
) -> Result<T, ApiError> {
    let body: &[u8] = request.body().as_ref();
    if body.len() > max_bytes {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "La requête dépasse {} Ko : raccourcissez les champs envoyés.",
                max_bytes / 1024
            ),
        ));
    }
    let is_json = request
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| media_type.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Envoyez le corps de la requête en JSON, avec l'en-tête Content-Type: application/json.",
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(json_error)?;
    deserializer.end().map_err(|e| malformed(&e))?;
    Ok(value)
}

fn malformed(error: &serde_json::Error) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "malformed_json",
        format!(
            "Le corps de la requête n'est pas un JSON valide (ligne {}, colonne {}).",
            error.line(),
            error.column()
        ),
    )
}

fn json_error(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let inner = error.inner();
    if !inner.is_data() {
        return malformed(inner);
    }
    let path = error.path().to_string();
    let detail = inner.to_string();
    // serde names the field between backticks in these two messages.
    let quoted = detail.split('`').nth(1).map(str::to_owned);
    let (code, field, message) = if detail.starts_with("unknown field") {
        let field = quoted.unwrap_or(path);
        let message = format!("Le champ « {field} » n'est pas attendu : retirez-le.");
        ("unknown_field", field, message)
    } else if detail.starts_with("missing field") {
        let field = quoted.unwrap_or(path);
        let message = format!("Le champ « {field} » est obligatoire.");
        ("missing_field", field, message)
    } else if !path.starts_with(|c: char| c.is_alphanumeric() || c == '_') {
        // The body is not an object (an array, a string): no field to name.
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "Le corps de la requête doit être un objet JSON.",
        );
    } else {
        let message = format!("Le champ « {path} » n'a pas le type attendu.");
        ("invalid_type", path, message)
    };
    ApiError {
        fields: vec![FieldError {
            field,
            message: message.clone(),
        }],
        ..ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Form {
        email: String,
        consent: bool,
    }

    fn request(content_type: &str, body: &str) -> Request {
        let mut request = Request::new(Body::Text(body.to_owned()));
        request
            .headers_mut()
            .insert("content-type", content_type.parse().unwrap());
        request
    }

    fn error(content_type: &str, body: &str) -> ApiError {
        parse_json::<Form>(&request(content_type, body)).unwrap_err()
    }

    #[test]
    fn a_valid_body_parses() {
        let form: Form = parse_json(&request(
            "application/json; charset=utf-8",
            r#"{"email":"a@b.fr","consent":true}"#,
        ))
        .unwrap();
        assert!(form.consent);
    }

    #[test]
    fn oversized_bodies_get_413() {
        let body = format!(
            r#"{{"email":"{}","consent":true}}"#,
            "a".repeat(MAX_BODY_BYTES)
        );
        assert_eq!(
            error("application/json", &body).status,
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }

    #[test]
    fn non_json_content_types_get_415() {
        let e = error("text/plain", r#"{"email":"a@b.fr","consent":true}"#);
        assert_eq!(
            (e.status, e.code),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
        );
        assert_eq!(
            parse_json::<Form>(&Request::new(Body::Empty))
                .unwrap_err()
                .status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
    }

    #[test]
    fn malformed_json_gets_400() {
        for body in [
            "",
            "{",
            r#"{"email":"a@b.fr","consent":true} trailing"#,
            "[1,2",
        ] {
            let e = error("application/json", body);
            assert_eq!(
                (e.status, e.code),
                (StatusCode::BAD_REQUEST, "malformed_json"),
                "{body}"
            );
        }
    }

    #[test]
    fn unknown_missing_and_mistyped_fields_are_named() {
        let e = error(
            "application/json",
            r#"{"email":"a@b.fr","consent":true,"admin":true}"#,
        );
        assert_eq!(
            (e.code, e.fields[0].field.as_str()),
            ("unknown_field", "admin")
        );
        assert!(e.message.contains("admin"));

        let e = error("application/json", r#"{"consent":true}"#);
        assert_eq!(
            (e.code, e.fields[0].field.as_str()),
            ("missing_field", "email")
        );

        let e = error("application/json", r#"{"email":"a@b.fr","consent":"oui"}"#);
        assert_eq!(
            (e.code, e.fields[0].field.as_str()),
            ("invalid_type", "consent")
        );
    }

    #[test]
    fn storage_failures_answer_503_with_retry_after() {
        let mapping = <serde_dynamo::Error as serde::de::Error>::custom("boom");
        let error = crate::store::StoreError::from(mapping);
        let response = ApiError::from(error).respond();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()["retry-after"], "30");
    }

    #[test]
    fn errors_serialize_with_code_and_message() {
        let body = ApiError::not_found().respond();
        assert_eq!(body.status(), StatusCode::NOT_FOUND);
        let json: serde_json::Value = serde_json::from_slice(body.body().as_ref()).unwrap();
        assert_eq!(json["code"], "not_found");
        assert!(json["message"].as_str().unwrap().len() > 5);
    }
}
