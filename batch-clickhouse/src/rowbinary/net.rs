//! IP addresses: `IPv4` is a little-endian `UInt32`; `IPv6` is 16 bytes in network order.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use batch_core::{Encode, EncodeError, Reason};

use super::{accept, leaf, unsupported, RowBinary};
use crate::types::ChType;

impl Encode<RowBinary> for Ipv4Addr {
    #[inline]
    fn encode(&self, column: &ChType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        match leaf(column) {
            ChType::Ipv4 => {
                buf.extend_from_slice(&u32::from(*self).to_le_bytes());
                Ok(())
            }
            // An IPv4 address in an IPv6 column is stored IPv4-mapped (::ffff:a.b.c.d),
            // as ClickHouse's own toIPv6 does.
            ChType::Ipv6 => {
                buf.extend_from_slice(&self.to_ipv6_mapped().octets());
                Ok(())
            }
            other => Err(unsupported::<Ipv4Addr>(other)),
        }
    }

    fn accepts(column: &ChType) -> Result<(), Reason> {
        accept(
            column,
            |t| matches!(t, ChType::Ipv4 | ChType::Ipv6),
            "IPv4 or IPv6",
        )
    }
}

impl Encode<RowBinary> for Ipv6Addr {
    #[inline]
    fn encode(&self, column: &ChType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        match leaf(column) {
            ChType::Ipv6 => {
                buf.extend_from_slice(&self.octets());
                Ok(())
            }
            other => Err(unsupported::<Ipv6Addr>(other)),
        }
    }

    fn accepts(column: &ChType) -> Result<(), Reason> {
        accept(column, |t| *t == ChType::Ipv6, "IPv6")
    }
}

impl Encode<RowBinary> for IpAddr {
    #[inline]
    fn encode(&self, column: &ChType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self {
            IpAddr::V4(a) => a.encode(column, buf),
            IpAddr::V6(a) => match leaf(column) {
                ChType::Ipv4 => Err(EncodeError::OutOfRange {
                    what: "IPv4",
                    value: a.to_string(),
                }),
                _ => a.encode(column, buf),
            },
        }
    }

    /// An `IPv6` address is refused by an `IPv4` column value by value (out of range).
    fn accepts(column: &ChType) -> Result<(), Reason> {
        <Ipv4Addr as Encode<RowBinary>>::accepts(column)
    }
}
