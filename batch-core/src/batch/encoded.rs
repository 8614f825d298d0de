//! What a sink made of a batch for sending, kept between the attempts of one delivery,
//! and the memory the batcher reserved for that delivery's send.

use std::any::Any;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Gives bytes back to the memory budget the batcher reserved them from.
pub(crate) type Release = Arc<dyn Fn(usize) + Send + Sync>;

/// The slot a batch and its clones share: what a sink made of the batch, and what the
/// batcher reserved for the send of the current delivery.
#[derive(Clone, Default)]
pub(crate) struct Encoded(Arc<Slot>);

#[derive(Default)]
struct Slot {
    made: Mutex<Option<Arc<dyn Any + Send + Sync>>>,
    send: Mutex<Option<(usize, Release)>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing under these locks can panic half-way.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Encoded {
    pub(crate) fn get<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let slot = lock(&self.0.made);
        slot.clone().and_then(|made| made.downcast::<T>().ok())
    }

    pub(crate) fn keep<T: Any + Send + Sync>(&self, made: Arc<T>) {
        *lock(&self.0.made) = Some(made);
    }

    pub(crate) fn forget(&self) {
        // Dropped outside the lock: it may be megabytes.
        let made = lock(&self.0.made).take();
        drop(made);
    }

    /// Notes that `bytes` are reserved for the send of the delivery starting, given back
    /// through `release`.
    pub(crate) fn reserve_send(&self, bytes: usize, release: Release) {
        *lock(&self.0.send) = Some((bytes, release));
    }

    /// Lowers the reservation to `bytes`, giving the rest back at once.
    pub(crate) fn shrink_send(&self, bytes: usize) {
        let give = {
            let mut send = lock(&self.0.send);
            match send.as_mut() {
                Some((reserved, release)) if bytes < *reserved => {
                    let give = *reserved - bytes;
                    *reserved = bytes;
                    Some((give, release.clone()))
                }
                _ => None,
            }
        };
        if let Some((give, release)) = give {
            release(give);
        }
    }

    /// Ends the reservation: the bytes still reserved, for the caller to give back.
    pub(crate) fn end_send(&self) -> usize {
        lock(&self.0.send)
            .take()
            .map_or(0, |(reserved, _)| reserved)
    }
}

impl fmt::Debug for Encoded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kept = lock(&self.0.made).is_some();
        let reserved = lock(&self.0.send).as_ref().map(|(r, _)| *r);
        f.debug_struct("Encoded")
            .field("kept", &kept)
            .field("send_reserved", &reserved)
            .finish()
    }
}
