//! `IpAddr`, `Ipv4Addr` and `Ipv6Addr` into `inet` and `cidr`.
//!
//! The binary format is: family (2 = IPv4, 3 = IPv6), prefix bits, is-cidr flag, address
//! length, then the address bytes. The std types have no prefix, so the prefix is the
//! full address (/32, /128), which both `inet` and `cidr` accept.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use batch_core::{Encode, EncodeError, Reason};

use super::{accept_base, oid, put_fixed, unsupported, PgBinary, PgType, PgTypeKind};

/// The rule of the address types: `inet` and `cidr`.
fn accepts(column: &PgType) -> Result<(), Reason> {
    accept_base(column, &[oid::INET, oid::CIDR], "inet or cidr")
}

const AF_INET: u8 = 2;
const AF_INET6: u8 = 3;

#[inline]
fn is_cidr<T: ?Sized>(column: &PgType) -> Result<u8, EncodeError> {
    match (column.kind(), column.base_oid()) {
        (PgTypeKind::Base, oid::INET) => Ok(0),
        (PgTypeKind::Base, oid::CIDR) => Ok(1),
        _ => Err(unsupported::<T>(column)),
    }
}

#[inline]
fn put_v4(ip: Ipv4Addr, cidr: u8, buf: &mut Vec<u8>) {
    let [a, b, c, d] = ip.octets();
    put_fixed(buf, [AF_INET, 32, cidr, 4, a, b, c, d]);
}

#[inline]
fn put_v6(ip: Ipv6Addr, cidr: u8, buf: &mut Vec<u8>) {
    let mut v = [0u8; 20];
    v[..4].copy_from_slice(&[AF_INET6, 128, cidr, 16]);
    v[4..].copy_from_slice(&ip.octets());
    put_fixed(buf, v);
}

impl Encode<PgBinary> for Ipv4Addr {
    #[inline]
    fn encode(&self, column: &PgType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_v4(*self, is_cidr::<Ipv4Addr>(column)?, buf);
        Ok(())
    }

    fn accepts(column: &PgType) -> Result<(), Reason> {
        accepts(column)
    }
}

impl Encode<PgBinary> for Ipv6Addr {
    #[inline]
    fn encode(&self, column: &PgType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_v6(*self, is_cidr::<Ipv6Addr>(column)?, buf);
        Ok(())
    }

    fn accepts(column: &PgType) -> Result<(), Reason> {
        accepts(column)
    }
}

impl Encode<PgBinary> for IpAddr {
    #[inline]
    fn encode(&self, column: &PgType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        let cidr = is_cidr::<IpAddr>(column)?;
        match self {
            IpAddr::V4(ip) => put_v4(*ip, cidr, buf),
            IpAddr::V6(ip) => put_v6(*ip, cidr, buf),
        }
        Ok(())
    }

    fn accepts(column: &PgType) -> Result<(), Reason> {
        accepts(column)
    }
}
