//! One signing secret per deployment, from which two independent keys are
//! derived: one signs the tokens in links, one turns e-mail addresses into
//! the opaque ids used in keys (so no address ever appears in a key).

use aws_config::SdkConfig;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::{email::EmailAddress, tokens::TokenKey};

type HmacSha256 = Hmac<Sha256>;

/// Shortest secret accepted: 256 bits.
const MIN_SECRET_BYTES: usize = 32;

#[derive(Clone)]
pub struct Keyring {
    pub tokens: TokenKey,
    pub addresses: AddressKey,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("the signing secret must be hex-encoded and at least {MIN_SECRET_BYTES} bytes long")]
    TooShort,
    #[error("reading the signing secret from Secrets Manager failed: {0}")]
    SecretsManager(String),
}

impl Keyring {
    /// Builds the keys from a hex-encoded secret.
    pub fn from_hex(secret: &str) -> Result<Self, KeyringError> {
        let bytes = hex::decode(secret.trim()).map_err(|_| KeyringError::TooShort)?;
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(KeyringError::TooShort);
        }
        Ok(Self {
            tokens: TokenKey::new(derive(&bytes, b"binome/link-tokens/v1")),
            addresses: AddressKey(derive(&bytes, b"binome/address-ids/v1")),
        })
    }

    /// A fresh random secret, hex-encoded (for a local data folder).
    pub fn generate_hex() -> String {
        let mut secret = [0u8; MIN_SECRET_BYTES];
        rand::rng().fill_bytes(&mut secret);
        hex::encode(secret)
    }

    /// On Lambda: the secret (named by `SIGNING_SECRET_ARN`), read once at start.
    pub async fn from_secrets_manager(sdk: &SdkConfig, arn: &str) -> Result<Self, KeyringError> {
        let secret = crate::aws::secret_string(sdk, arn)
            .await
            .map_err(KeyringError::SecretsManager)?;
        Self::from_hex(&secret)
    }
}

fn derive(secret: &[u8], label: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(label);
    mac.finalize().into_bytes().into()
}

/// Turns a normalised address into a stable opaque id.
#[derive(Clone)]
pub struct AddressKey([u8; 32]);

/// The opaque id of an e-mail address: 128 bits of HMAC-SHA256, hex.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct AddressId(String);

impl AddressKey {
    pub fn id_of(&self, address: &EmailAddress) -> AddressId {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(address.as_str().as_bytes());
        AddressId(hex::encode(&mac.finalize().into_bytes()[..16]))
    }
}

impl AddressKey {
    /// The opaque id of a client's IP address, for its rate limits.
    pub fn id_of_client(&self, ip: &str) -> String {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(b"client-ip:");
        mac.update(ip.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }
}

impl AddressId {
    /// An id read back from a verified token or a key.
    pub fn from_trusted(id: String) -> Self {
        Self(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_ids_are_stable_opaque_and_secret_dependent() {
        let keyring = Keyring::from_hex(&"ab".repeat(32)).unwrap();
        let other = Keyring::from_hex(&"cd".repeat(32)).unwrap();
        let address = EmailAddress::parse("Camille@Exemple.fr").unwrap();
        let id = keyring.addresses.id_of(&address);
        assert_eq!(
            id,
            keyring
                .addresses
                .id_of(&EmailAddress::parse("camille@exemple.fr").unwrap())
        );
        assert_ne!(id, other.addresses.id_of(&address));
        assert_eq!(id.as_str().len(), 32);
        assert!(!id.as_str().contains("camille"));
    }

    #[test]
    fn short_or_non_hex_secrets_are_refused() {
        assert!(Keyring::from_hex(&"ab".repeat(31)).is_err());
        assert!(Keyring::from_hex("not hex at all").is_err());
        assert!(Keyring::from_hex(&Keyring::generate_hex()).is_ok());
    }
}
