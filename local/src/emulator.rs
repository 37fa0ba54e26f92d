//! The embedded DynamoDB: dynoxide in this process, served on a loopback
//! port so that the real `aws-sdk-dynamodb` client reaches it over HTTP.

use std::path::Path;

use anyhow::Context;
use dynoxide::Database;
use tokio::{net::TcpListener, sync::oneshot};

pub struct Emulator {
    /// Kept for what the wire API does not offer here: TTL sweeps and streams.
    pub db: Database,
    pub endpoint: String,
    _shutdown: oneshot::Sender<()>,
}

impl Emulator {
    /// A throw-away database (tests).
    pub async fn in_memory() -> anyhow::Result<Self> {
        let db = Database::memory().context("opening an in-memory database")?;
        // Through a snapshot: the in-memory database takes no SQL of ours.
        let snapshot = std::env::temp_dir().join(format!(
            "binome-emulator-{}.sqlite",
            uuid::Uuid::new_v4().simple()
        ));
        let path = snapshot.to_string_lossy().into_owned();
        db.vacuum_into(&path)?;
        index_stream_sequences(&snapshot)?;
        db.restore_from(&path)?;
        std::fs::remove_file(&snapshot)?;
        Self::serve(db).await
    }

    /// A database kept in a SQLite file: data survives restarts.
    pub async fn persistent(path: &Path) -> anyhow::Result<Self> {
        let db = Database::new(&path.to_string_lossy())
            .with_context(|| format!("opening {}", path.display()))?;
        index_stream_sequences(path)?;
        Self::serve(db).await
    }

    async fn serve(db: Database) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server = db.clone();
        tokio::spawn(async move {
            let stop = async {
                let _ = stopped.await;
            };
            if let Err(error) = dynoxide::server::serve_with_shutdown(listener, server, stop).await
            {
                tracing::error!(%error, "embedded DynamoDB stopped");
            }
        });
        Ok(Self {
            db,
            endpoint,
            _shutdown: shutdown,
        })
    }
}

/// Deletes expired items, as DynamoDB's TTL does (late, in the background).
pub async fn sweep_ttl(db: Database) -> anyhow::Result<usize> {
    Ok(tokio::task::spawn_blocking(move || db.sweep_ttl()).await??)
}

/// dynoxide numbers each stream record with `MAX(CAST(sequence_number AS
/// INTEGER))` over the table's stream records: without an index on that
/// expression every write scans them all (45 ms a write at 300,000 records),
/// and load tests measured the emulator instead of the code.
fn index_stream_sequences(file: &Path) -> anyhow::Result<()> {
    rusqlite::Connection::open(file)
        .and_then(|connection| {
            connection.execute_batch(
                "CREATE INDEX IF NOT EXISTS binome_stream_sequence \
                 ON _stream_records (table_name, CAST(sequence_number AS INTEGER))",
            )
        })
        .with_context(|| format!("indexing the stream records of {}", file.display()))
}
