//! # keen-data
//!
//! Streaming datasets in the style of tf.data: lazy recipes, chained transforms, bounded memory.
