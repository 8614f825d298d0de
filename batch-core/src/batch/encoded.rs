//! What a sink made of a batch for sending, kept between the attempts of one delivery.

use std::any::Any;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

/// The slot a batch and its clones share: empty, or what a sink made of the batch.
#[derive(Clone, Default)]
pub(crate) struct Encoded(Arc<Mutex<Option<Arc<dyn Any + Send + Sync>>>>);

impl Encoded {
    pub(crate) fn get<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        slot.clone().and_then(|made| made.downcast::<T>().ok())
    }

    pub(crate) fn keep<T: Any + Send + Sync>(&self, made: Arc<T>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(made);
    }

    pub(crate) fn forget(&self) {
        // Dropped outside the lock: it may be megabytes.
        let made = self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
        drop(made);
    }
}

impl fmt::Debug for Encoded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kept = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some();
        f.debug_struct("Encoded").field("kept", &kept).finish()
    }
}
