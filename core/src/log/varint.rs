//! Kafka's variable-length integers: zigzag-encoded, 7 bits per byte, low bits first
//! (the same encoding as Protocol Buffers' `sint32`/`sint64`). Record fields use them so a
//! small record costs a few bytes of framing, not dozens.

/// Why a varint could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarintError {
    /// The input ended in the middle of the number.
    Truncated,
    /// More bytes than the type allows (5 for a varint, 10 for a varlong).
    TooLong,
}

/// Append `value` as a zigzag varint (32-bit).
pub fn put_varint(out: &mut Vec<u8>, value: i32) {
    put_unsigned(out, u64::from(((value << 1) ^ (value >> 31)) as u32));
}

/// Append `value` as a zigzag varlong (64-bit).
pub fn put_varlong(out: &mut Vec<u8>, value: i64) {
    put_unsigned(out, ((value << 1) ^ (value >> 63)) as u64);
}

fn put_unsigned(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_unsigned(input: &[u8], max_bytes: usize) -> Result<(u64, usize), VarintError> {
    let mut value: u64 = 0;
    for (i, byte) in input.iter().enumerate() {
        if i >= max_bytes {
            return Err(VarintError::TooLong);
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    if input.len() >= max_bytes {
        Err(VarintError::TooLong)
    } else {
        Err(VarintError::Truncated)
    }
}

/// Read a zigzag varint; returns the value and the bytes used.
pub fn get_varint(input: &[u8]) -> Result<(i32, usize), VarintError> {
    let (raw, used) = get_unsigned(input, 5)?;
    let raw = raw as u32;
    Ok((((raw >> 1) as i32) ^ -((raw & 1) as i32), used))
}

/// Read a zigzag varlong; returns the value and the bytes used.
pub fn get_varlong(input: &[u8]) -> Result<(i64, usize), VarintError> {
    let (raw, used) = get_unsigned(input, 10)?;
    Ok((((raw >> 1) as i64) ^ -((raw & 1) as i64), used))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reference: Kafka's `ByteUtilsTest` (zigzag: 0→0, -1→1, 1→2, -2→3, ...).
    #[test]
    fn zigzag_table() {
        let table: [(i32, &[u8]); 7] = [
            (0, &[0x00]),
            (-1, &[0x01]),
            (1, &[0x02]),
            (-2, &[0x03]),
            (63, &[0x7e]),
            (-64, &[0x7f]),
            (64, &[0x80, 0x01]),
        ];
        for (value, bytes) in table {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            assert_eq!(out, bytes, "encoding {value}");
            assert_eq!(get_varint(bytes), Ok((value, bytes.len())));
        }
    }

    #[test]
    fn extremes_fit_in_five_and_ten_bytes() {
        let mut out = Vec::new();
        put_varint(&mut out, i32::MIN);
        assert_eq!(out.len(), 5);
        assert_eq!(get_varint(&out), Ok((i32::MIN, 5)));
        out.clear();
        put_varlong(&mut out, i64::MAX);
        assert_eq!(out.len(), 10);
        assert_eq!(get_varlong(&out), Ok((i64::MAX, 10)));
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert_eq!(get_varint(&[]), Err(VarintError::Truncated));
        assert_eq!(get_varint(&[0x80]), Err(VarintError::Truncated));
        assert_eq!(get_varint(&[0x80; 6]), Err(VarintError::TooLong));
    }

    proptest! {
        #[test]
        fn varint_round_trips(v in any::<i32>()) {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            prop_assert_eq!(get_varint(&out), Ok((v, out.len())));
        }

        #[test]
        fn varlong_round_trips(v in any::<i64>()) {
            let mut out = Vec::new();
            put_varlong(&mut out, v);
            prop_assert_eq!(get_varlong(&out), Ok((v, out.len())));
        }
    }
}
