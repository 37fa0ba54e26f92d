//! Matching: the best set of mentor–mentee pairs for a whole pool
//! (`algorithm`, pure), and the pairs' lifecycle.

pub mod algorithm;
