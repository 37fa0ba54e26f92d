//! The recount: every figure rebuilt from the items themselves (what each
//! counts now, plus what removed items kept), by a parallel Scan outside
//! the request path, and compared with the live figures. With `apply`, the
//! difference is added to the live figures, which then equal the recount.
//!
//! Run it while nothing writes what the figures count (or after a bug in a
//! counter, on a copy): a record counted live between the scan's pages and
//! the comparison shows as a difference.

use futures_util::future;
use serde::{Deserialize, Serialize};
use shared::store::{Store, StoreError};

use crate::{
    cells::{self, Stored},
    facts::{self, Figures},
};

/// Differences listed in a report at most.
const LISTED_DIFFERENCES: usize = 50;

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct BackfillRequest {
    /// Parallel Scan segments.
    #[serde(default = "default_segments")]
    pub segments: u32,
    /// Corrects the live figures by the difference.
    #[serde(default)]
    pub apply: bool,
}

fn default_segments() -> u32 {
    4
}

/// One count that differs between the live figures and the recount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    pub month: String,
    pub association: String,
    pub departement: String,
    pub metric: &'static str,
    pub live: i64,
    pub recount: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BackfillReport {
    pub items_scanned: u64,
    pub cells_recounted: usize,
    pub differences: usize,
    /// The first differences found.
    pub listed: Vec<Difference>,
    /// Cells written by the correction (`apply`).
    pub corrected_cells: usize,
}

/// What one segment of the scan found.
#[derive(Default)]
struct Tally {
    scanned: u64,
    recount: Figures,
    live: Figures,
}

#[tracing::instrument(skip(store))]
async fn scan_segment(store: &Store, segment: i32, segments: i32) -> Result<Tally, StoreError> {
    let mut tally = Tally::default();
    let mut items = store
        .client
        .scan()
        .table_name(&store.table)
        .segment(segment)
        .total_segments(segments)
        .consistent_read(true)
        .into_paginator()
        .items()
        .send();
    while let Some(item) = items.try_next().await? {
        tally.scanned += 1;
        match cells::stored(&item) {
            Some(Stored::Kept) => cells::parse(&item, &mut tally.recount),
            Some(Stored::Live) => cells::parse(&item, &mut tally.live),
            None => tally
                .recount
                .add_all(&facts::facts(&serde_dynamo::Item::from(item)), 1),
        }
    }
    Ok(tally)
}

/// Recounts every figure and compares it with the live ones.
#[tracing::instrument(skip(store))]
pub async fn backfill(
    store: &Store,
    request: BackfillRequest,
) -> Result<BackfillReport, StoreError> {
    let segments = request.segments.clamp(1, 64) as i32;
    let tallies =
        future::try_join_all((0..segments).map(|segment| scan_segment(store, segment, segments)))
            .await?;
    let mut scanned = 0;
    let (mut recount, mut live) = (Figures::default(), Figures::default());
    for tally in tallies {
        scanned += tally.scanned;
        recount.add_all(&tally.recount, 1);
        live.add_all(&tally.live, 1);
    }
    let mut difference = recount.clone();
    difference.add_all(&live, -1);
    let count_of = |figures: &Figures, cell, metric| {
        figures
            .0
            .get(cell)
            .and_then(|counts| counts.get(metric))
            .copied()
            .unwrap_or(0)
    };
    let mut listed = Vec::new();
    let mut differences = 0;
    for (cell, counts) in &difference.0 {
        for metric in counts.keys() {
            differences += 1;
            if listed.len() < LISTED_DIFFERENCES {
                listed.push(Difference {
                    month: cell.month.clone(),
                    association: cell.association.clone(),
                    departement: cell.departement.clone(),
                    metric,
                    live: count_of(&live, cell, metric),
                    recount: count_of(&recount, cell, metric),
                });
            }
        }
    }
    let corrected_cells = if request.apply {
        cells::correct(store, &difference).await?
    } else {
        0
    };
    tracing::info!(scanned, differences, corrected_cells, "figures recounted");
    Ok(BackfillReport {
        items_scanned: scanned,
        cells_recounted: recount.0.len(),
        differences,
        listed,
        corrected_cells,
    })
}
