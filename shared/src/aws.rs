//! AWS SDK configuration. On Lambda it comes from the variables Lambda
//! sets; locally and in tests every client points at a loopback emulator
//! with static credentials. Retries (standard mode: backoff with jitter, throttling
//! included) are configured here once, never re-implemented around calls.

use aws_config::{BehaviorVersion, Region, SdkConfig, retry::RetryConfig};
use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider, SharedHttpClient};
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use base64::{Engine, engine::general_purpose::STANDARD};

/// Region used when none is configured (Paris).
pub const DEFAULT_REGION: &str = "eu-west-3";

fn retries() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(4)
}

/// The HTTPS client all of a function's AWS clients share, trusting the
/// Mozilla roots compiled into the binary: the SDK's default reads every
/// file of the system's certificate directory at the first connection
/// (some 2.7 ms of each cold start), and the Lambda image's bundle is not
/// where Debian's is.
fn https_client() -> SharedHttpClient {
    let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .fold(TrustStore::empty(), |roots, certificate| {
            roots.with_pem_certificate(pem(certificate))
        });
    let context = TlsContext::builder()
        .with_trust_store(roots)
        .build()
        .expect("a trust store of certificates is a valid TLS context");
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https()
}

/// A DER certificate as PEM, the form the SDK's trust store takes.
fn pem(certificate: &[u8]) -> Vec<u8> {
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        STANDARD.encode(certificate)
    )
    .into_bytes()
}

/// The configuration a Lambda function gets from its environment: the
/// region and the role's credentials, which Lambda sets as variables, and
/// `AWS_ENDPOINT_URL` when set (stand-ins on this machine). The SDK's
/// default chain also tries profile files, instance metadata and STS,
/// which only other hosts need: they cost each binary some size and each
/// start some time.
pub fn from_environment() -> SdkConfig {
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| DEFAULT_REGION.to_owned());
    let credentials = aws_config::environment::EnvironmentVariableCredentialsProvider::new();
    let config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(https_client())
        .retry_config(retries());
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(endpoint) => config.endpoint_url(endpoint).build(),
        Err(_) => config.build(),
    }
}

/// A configuration for emulators on this machine: fixed region and credentials.
pub async fn offline(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .region(Region::new(DEFAULT_REGION))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "offline"))
        // The same attempts, sooner: locally a throttle is an injected
        // fault, not a table under load that needs a second to recover.
        .retry_config(
            retries()
                .with_initial_backoff(std::time::Duration::from_millis(20))
                .with_max_backoff(std::time::Duration::from_millis(500)),
        )
        .load()
        .await
}

/// A secret's string value from Secrets Manager, read once at a function's start.
#[tracing::instrument(skip_all)]
pub async fn secret_string(sdk: &SdkConfig, arn: &str) -> Result<String, String> {
    let secret = aws_sdk_secretsmanager::Client::new(sdk)
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string())?;
    Ok(secret.secret_string().unwrap_or_default().to_owned())
}

/// What every function's `main` builds first: logs, the AWS configuration,
/// the environment reader and the table.
pub struct Start {
    pub sdk: SdkConfig,
    pub env: crate::config::Env,
    pub store: crate::store::Store,
}

/// What a function that signs its links starts with.
pub struct Signing<T> {
    pub sdk: SdkConfig,
    pub store: crate::store::Store,
    pub links: crate::links::Links,
    pub keyring: crate::keyring::Keyring,
    /// The network admins' key, for a function that serves their routes.
    pub admin_key: Option<String>,
    /// The function's own settings, read by the closure given to [`start_signing`].
    pub settings: T,
}

/// Which secrets a function reads at its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrets {
    Signing,
    /// The signing secret and the network admins' key.
    SigningAndAdminKey,
}

/// The start of a function that signs links: the table, the links, the
/// signing secret (and the admin key), `settings` (the function's own
/// variables, reported with the others when missing), and a warm connection.
pub async fn start_signing<T>(
    secrets: Secrets,
    settings: impl FnOnce(&mut crate::config::Env) -> T,
) -> Result<Signing<T>, lambda_http::Error> {
    let Start {
        sdk,
        mut env,
        store,
    } = start_function().await;
    let links = crate::links::Links::from_env(&mut env);
    let secret_arn = env.required("SIGNING_SECRET_ARN");
    let admin_key_arn =
        (secrets == Secrets::SigningAndAdminKey).then(|| env.required("ADMIN_KEY_SECRET_ARN"));
    let settings = settings(&mut env);
    let (store, links, settings) = env.finish(|| (store, links, settings))?;
    // Each is a round trip of its own: at once, the start waits for one.
    let (keyring, admin_key, ()) = tokio::join!(
        crate::keyring::Keyring::from_secrets_manager(&sdk, &secret_arn),
        optional_secret(&sdk, admin_key_arn.as_deref()),
        store.warm_up(),
    );
    Ok(Signing {
        keyring: keyring?,
        admin_key: admin_key?,
        sdk,
        store,
        links,
        settings,
    })
}

/// A secret when its ARN is given, read while the table's first connection
/// is made (the start of the functions that do not sign links).
pub async fn secret_and_warm_up(
    sdk: &SdkConfig,
    store: &crate::store::Store,
    arn: Option<&str>,
) -> Result<Option<String>, String> {
    let (secret, ()) = tokio::join!(optional_secret(sdk, arn), store.warm_up());
    secret
}

async fn optional_secret(sdk: &SdkConfig, arn: Option<&str>) -> Result<Option<String>, String> {
    match arn {
        Some(arn) => secret_string(sdk, arn).await.map(Some),
        None => Ok(None),
    }
}

pub async fn start_function() -> Start {
    crate::telemetry::init();
    let sdk = from_environment();
    let mut env = crate::config::Env::from_process();
    let store = crate::store::Store::from_env(&mut env, &sdk);
    Start { sdk, env, store }
}

#[cfg(test)]
mod tests {
    use rustls_pki_types::{CertificateDer, pem::PemObject};

    /// The SDK reads the trust store at the first connection, as here, and
    /// panics on a certificate it cannot read or add: every AWS call would fail.
    #[test]
    fn every_compiled_in_root_is_trusted_from_its_pem() {
        let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS;
        assert!(roots.len() > 100, "{} roots", roots.len());
        let mut store = rustls::RootCertStore::empty();
        for root in roots {
            let read = CertificateDer::pem_slice_iter(&super::pem(root))
                .collect::<Result<Vec<_>, _>>()
                .expect("readable PEM");
            assert_eq!(read, std::slice::from_ref(root));
            store.add(read[0].clone()).expect("a root rustls trusts");
        }
        assert_eq!(store.len(), roots.len());
    }
}
