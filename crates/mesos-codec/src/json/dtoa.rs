//! Doubles as a Mesos 1.11 master writes them: rapidjson 1.1.0's `dtoa`.
//!
//! stout's `jsonify` hands every `double` (and every `float`, widened) to
//! rapidjson's `Writer::Double`, which writes the digits of Grisu2 (Florian
//! Loitsch's algorithm, in Milo Yip's implementation) laid out by
//! `Prettify`. Grisu2's digits always read back as the same double, but they
//! are not always the shortest that do: `1796462612.3989098` is written
//! `1796462612.3989099`. A byte-exact writer must therefore run the same
//! algorithm, not a shortest-digits one (ryu), and this module is a line by
//! line port of `include/rapidjson/internal/{diyfp,dtoa}.h` of rapidjson
//! 1.1.0 (MIT licence, Copyright (C) 2015 THL A29 Limited, a Tencent company,
//! and Milo Yip), the version Mesos 1.11.0 bundles.
//!
//! Layout (`Prettify`, with `maxDecimalPlaces` at its default of 324, so
//! nothing is ever truncated): a whole number below 1e21 gets `.0`
//! (`15.0`, `996.0`, `1e20` → `100000000000000000000.0`); a number of up
//! to 21 integer digits gets its decimal point in place (`0.5`,
//! `1234.5678901234567`); down to 1e-6 leading zeros (`0.000001`); anything
//! else an exponent without `+` or leading zeros (`1e21`, `1.5e-7`,
//! `1.7976931348623157e308`). Zero is `0.0` or `-0.0`.
//!
//! Non-finite values are not this module's business: rapidjson with the
//! `kWriteNanAndInfFlag` Mesos sets writes `NaN` bare and, with Mesos's
//! patch, `"Infinity"` and `"-Infinity"` quoted (see `write_double`).

/// Writes the finite double `v` as rapidjson's `internal::dtoa` does (a
/// crate-private function, so its example is checked by the unit test
/// `tests` beside it, not as a doctest):
///
/// ```text
/// let mut out = Vec::new();
/// write_finite(1796462612.3989098, &mut out);
/// assert_eq!(out, b"1796462612.3989099");
/// ```
pub(crate) fn write_finite(v: f64, out: &mut Vec<u8>) {
    debug_assert!(v.is_finite());
    if v == 0.0 {
        out.extend_from_slice(if v.is_sign_negative() { b"-0.0" } else { b"0.0" });
        return;
    }
    if v < 0.0 {
        out.push(b'-');
    }
    let mut digits = [0u8; 18];
    let (len, k) = grisu2(v.abs(), &mut digits);
    prettify(&digits[..len], k, out);
}

/// A "do-it-yourself floating point" number: `f × 2^e`.
#[derive(Clone, Copy)]
struct DiyFp {
    f: u64,
    e: i32,
}

const SIGNIFICAND_SIZE: i32 = 52;
const EXPONENT_BIAS: i32 = 0x3FF + SIGNIFICAND_SIZE;
const MIN_EXPONENT: i32 = -EXPONENT_BIAS;
const HIDDEN_BIT: u64 = 1 << 52;
const SIGNIFICAND_MASK: u64 = HIDDEN_BIT - 1;

impl DiyFp {
    fn from_double(d: f64) -> DiyFp {
        let bits = d.to_bits();
        let biased = ((bits >> SIGNIFICAND_SIZE) & 0x7FF) as i32;
        let significand = bits & SIGNIFICAND_MASK;
        if biased != 0 {
            DiyFp { f: significand + HIDDEN_BIT, e: biased - EXPONENT_BIAS }
        } else {
            DiyFp { f: significand, e: MIN_EXPONENT + 1 }
        }
    }

    fn minus(self, rhs: DiyFp) -> DiyFp {
        DiyFp { f: self.f.wrapping_sub(rhs.f), e: self.e }
    }

    /// The product, rounded to its upper 64 bits (the `__int128` branch).
    fn times(self, rhs: DiyFp) -> DiyFp {
        let p = u128::from(self.f) * u128::from(rhs.f);
        let mut h = (p >> 64) as u64;
        if (p as u64) & (1 << 63) != 0 {
            h = h.wrapping_add(1);
        }
        DiyFp { f: h, e: self.e + rhs.e + 64 }
    }

    fn normalize(self) -> DiyFp {
        let s = self.f.leading_zeros() as i32;
        DiyFp { f: self.f << s, e: self.e - s }
    }

    fn normalize_boundary(self) -> DiyFp {
        let mut res = self;
        while res.f & (HIDDEN_BIT << 1) == 0 {
            res.f <<= 1;
            res.e -= 1;
        }
        let shift = 64 - SIGNIFICAND_SIZE - 2;
        DiyFp { f: res.f << shift, e: res.e - shift }
    }

    /// The boundaries `(minus, plus)` of the interval of reals that round to
    /// this double, with the same exponent.
    fn normalized_boundaries(self) -> (DiyFp, DiyFp) {
        let pl = DiyFp { f: (self.f << 1) + 1, e: self.e - 1 }.normalize_boundary();
        let mut mi = if self.f == HIDDEN_BIT {
            DiyFp { f: (self.f << 2) - 1, e: self.e - 2 }
        } else {
            DiyFp { f: (self.f << 1) - 1, e: self.e - 1 }
        };
        mi.f <<= mi.e - pl.e;
        mi.e = pl.e;
        (mi, pl)
    }
}

/// 10^-348, 10^-340, …, 10^340: significands.
static CACHED_POWERS_F: [u64; 87] = [
    0xfa8fd5a0081c0288,
    0xbaaee17fa23ebf76,
    0x8b16fb203055ac76,
    0xcf42894a5dce35ea,
    0x9a6bb0aa55653b2d,
    0xe61acf033d1a45df,
    0xab70fe17c79ac6ca,
    0xff77b1fcbebcdc4f,
    0xbe5691ef416bd60c,
    0x8dd01fad907ffc3c,
    0xd3515c2831559a83,
    0x9d71ac8fada6c9b5,
    0xea9c227723ee8bcb,
    0xaecc49914078536d,
    0x823c12795db6ce57,
    0xc21094364dfb5637,
    0x9096ea6f3848984f,
    0xd77485cb25823ac7,
    0xa086cfcd97bf97f4,
    0xef340a98172aace5,
    0xb23867fb2a35b28e,
    0x84c8d4dfd2c63f3b,
    0xc5dd44271ad3cdba,
    0x936b9fcebb25c996,
    0xdbac6c247d62a584,
    0xa3ab66580d5fdaf6,
    0xf3e2f893dec3f126,
    0xb5b5ada8aaff80b8,
    0x87625f056c7c4a8b,
    0xc9bcff6034c13053,
    0x964e858c91ba2655,
    0xdff9772470297ebd,
    0xa6dfbd9fb8e5b88f,
    0xf8a95fcf88747d94,
    0xb94470938fa89bcf,
    0x8a08f0f8bf0f156b,
    0xcdb02555653131b6,
    0x993fe2c6d07b7fac,
    0xe45c10c42a2b3b06,
    0xaa242499697392d3,
    0xfd87b5f28300ca0e,
    0xbce5086492111aeb,
    0x8cbccc096f5088cc,
    0xd1b71758e219652c,
    0x9c40000000000000,
    0xe8d4a51000000000,
    0xad78ebc5ac620000,
    0x813f3978f8940984,
    0xc097ce7bc90715b3,
    0x8f7e32ce7bea5c70,
    0xd5d238a4abe98068,
    0x9f4f2726179a2245,
    0xed63a231d4c4fb27,
    0xb0de65388cc8ada8,
    0x83c7088e1aab65db,
    0xc45d1df942711d9a,
    0x924d692ca61be758,
    0xda01ee641a708dea,
    0xa26da3999aef774a,
    0xf209787bb47d6b85,
    0xb454e4a179dd1877,
    0x865b86925b9bc5c2,
    0xc83553c5c8965d3d,
    0x952ab45cfa97a0b3,
    0xde469fbd99a05fe3,
    0xa59bc234db398c25,
    0xf6c69a72a3989f5c,
    0xb7dcbf5354e9bece,
    0x88fcf317f22241e2,
    0xcc20ce9bd35c78a5,
    0x98165af37b2153df,
    0xe2a0b5dc971f303a,
    0xa8d9d1535ce3b396,
    0xfb9b7cd9a4a7443c,
    0xbb764c4ca7a44410,
    0x8bab8eefb6409c1a,
    0xd01fef10a657842c,
    0x9b10a4e5e9913129,
    0xe7109bfba19c0c9d,
    0xac2820d9623bf429,
    0x80444b5e7aa7cf85,
    0xbf21e44003acdd2d,
    0x8e679c2f5e44ff8f,
    0xd433179d9c8cb841,
    0x9e19db92b4e31ba9,
    0xeb96bf6ebadf77d9,
    0xaf87023b9bf0ee6b,
];

/// 10^-348, 10^-340, …, 10^340: binary exponents.
static CACHED_POWERS_E: [i16; 87] = [
    -1220, -1193, -1166, -1140, -1113, -1087, -1060, -1034, -1007, -980, -954, -927, -901, -874, -847, -821, -794,
    -768, -741, -715, -688, -661, -635, -608, -582, -555, -529, -502, -475, -449, -422, -396, -369, -343, -316, -289,
    -263, -236, -210, -183, -157, -130, -103, -77, -50, -24, 3, 30, 56, 83, 109, 136, 162, 189, 216, 242, 269, 295,
    322, 348, 375, 402, 428, 455, 481, 508, 534, 561, 588, 614, 641, 667, 694, 720, 747, 774, 800, 827, 853, 880, 907,
    933, 960, 986, 1013, 1039, 1066,
];

/// The cached power of ten for binary exponent `e`, and its decimal
/// exponent negated (`K`).
fn cached_power(e: i32) -> (DiyFp, i32) {
    // rapidjson computes the ceiling in doubles, and so do we, to the bit.
    let dk = f64::from(-61 - e) * 0.301_029_995_663_981_14 + 347.0;
    let mut k = dk as i32;
    if dk - f64::from(k) > 0.0 {
        k += 1;
    }
    let index = ((k >> 3) + 1) as usize;
    let big_k = -(-348 + (index as i32) * 8);
    (DiyFp { f: CACHED_POWERS_F[index], e: i32::from(CACHED_POWERS_E[index]) }, big_k)
}

fn grisu_round(buffer: &mut [u8], len: usize, delta: u64, mut rest: u64, ten_kappa: u64, wp_w: u64) {
    while rest < wp_w && delta - rest >= ten_kappa && (rest + ten_kappa < wp_w || wp_w - rest > rest + ten_kappa - wp_w)
    {
        buffer[len - 1] -= 1;
        rest += ten_kappa;
    }
}

fn count_decimal_digits(n: u32) -> u32 {
    match n {
        0..=9 => 1,
        10..=99 => 2,
        100..=999 => 3,
        1_000..=9_999 => 4,
        10_000..=99_999 => 5,
        100_000..=999_999 => 6,
        1_000_000..=9_999_999 => 7,
        10_000_000..=99_999_999 => 8,
        _ => 9,
    }
}

const POW10: [u32; 10] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000];

/// Grisu2's digit generation: digits into `buffer`, returning their count,
/// and `k` adjusted.
fn digit_gen(w: DiyFp, mp: DiyFp, mut delta: u64, buffer: &mut [u8; 18], k: &mut i32) -> usize {
    let one_e = -mp.e;
    let one_f = 1u64 << one_e;
    let wp_w = mp.minus(w);
    let mut p1 = (mp.f >> one_e) as u32;
    let mut p2 = mp.f & (one_f - 1);
    let mut kappa = count_decimal_digits(p1);
    let mut len = 0usize;

    while kappa > 0 {
        let divisor = POW10[(kappa - 1) as usize];
        let d = p1 / divisor;
        p1 %= divisor;
        if d != 0 || len != 0 {
            buffer[len] = b'0' + d as u8;
            len += 1;
        }
        kappa -= 1;
        let tmp = (u64::from(p1) << one_e) + p2;
        if tmp <= delta {
            *k += kappa as i32;
            grisu_round(buffer, len, delta, tmp, u64::from(POW10[kappa as usize]) << one_e, wp_w.f);
            return len;
        }
    }

    // kappa = 0: the fractional digits.
    let mut kappa = 0i32;
    loop {
        p2 = p2.wrapping_mul(10);
        delta = delta.wrapping_mul(10);
        let d = (p2 >> one_e) as u8;
        if d != 0 || len != 0 {
            buffer[len] = b'0' + d;
            len += 1;
        }
        p2 &= one_f - 1;
        kappa -= 1;
        if p2 < delta {
            *k += kappa;
            let index = -kappa;
            let scale = if index < 9 { u64::from(POW10[index as usize]) } else { 0 };
            grisu_round(buffer, len, delta, p2, one_f, wp_w.f.wrapping_mul(scale));
            return len;
        }
    }
}

/// Grisu2: the digits of `value` (positive, finite) and their decimal
/// exponent `k` (value ≈ digits × 10^k).
fn grisu2(value: f64, buffer: &mut [u8; 18]) -> (usize, i32) {
    let v = DiyFp::from_double(value);
    let (w_m, w_p) = v.normalized_boundaries();
    let (c_mk, mut k) = cached_power(w_p.e);
    let w = v.normalize().times(c_mk);
    let mut wp = w_p.times(c_mk);
    let mut wm = w_m.times(c_mk);
    wm.f = wm.f.wrapping_add(1);
    wp.f = wp.f.wrapping_sub(1);
    let len = digit_gen(w, wp, wp.f.wrapping_sub(wm.f), buffer, &mut k);
    (len, k)
}

/// `WriteExponent`: `-` for negatives, no `+`, no leading zeros.
fn write_exponent(k: i32, out: &mut Vec<u8>) {
    if k < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(itoa::Buffer::new().format(k.unsigned_abs()).as_bytes());
}

/// `Prettify` with `maxDecimalPlaces` 324 (rapidjson's default, so its
/// truncating branches never apply to a double).
fn prettify(digits: &[u8], k: i32, out: &mut Vec<u8>) {
    let length = digits.len() as i32;
    let kk = length + k; // 10^(kk-1) <= v < 10^kk
    if (0..).contains(&k) && kk <= 21 {
        // 1234e7 -> 12340000000.0
        out.extend_from_slice(digits);
        out.resize(out.len() + k as usize, b'0');
        out.extend_from_slice(b".0");
    } else if 0 < kk && kk <= 21 {
        // 1234e-2 -> 12.34
        let (int, frac) = digits.split_at(kk as usize);
        out.extend_from_slice(int);
        out.push(b'.');
        out.extend_from_slice(frac);
    } else if -6 < kk && kk <= 0 {
        // 1234e-6 -> 0.001234
        out.extend_from_slice(b"0.");
        out.resize(out.len() + (-kk) as usize, b'0');
        out.extend_from_slice(digits);
    } else if length == 1 {
        // 1e30
        out.push(digits[0]);
        out.push(b'e');
        write_exponent(kk - 1, out);
    } else {
        // 1234e30 -> 1.234e33
        out.push(digits[0]);
        out.push(b'.');
        out.extend_from_slice(&digits[1..]);
        out.push(b'e');
        write_exponent(kk - 1, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(v: f64) -> String {
        let mut out = Vec::new();
        write_finite(v, &mut out);
        String::from_utf8(out).unwrap()
    }

    /// Values a real 1.11 master wrote, and the layouts of `Prettify`.
    #[test]
    fn as_a_master_writes_them() {
        // Grisu2's digits where the shortest would be one digit less.
        assert_eq!(text(1796462612.3989098), "1796462612.3989099");
        assert_eq!(text(1796469949.7697809), "1796469949.7697809");
        assert_eq!(text(1234.5678901234567), "1234.5678901234567");
        assert_eq!(text(1796462131.88797), "1796462131.88797");
        assert_eq!(text(0.10547200000000001), "0.10547200000000001");
        assert_eq!(text(15.0), "15.0");
        assert_eq!(text(996.0), "996.0");
        assert_eq!(text(30509.0), "30509.0");
        assert_eq!(text(0.0), "0.0");
        assert_eq!(text(-0.0), "-0.0");
        assert_eq!(text(-0.5), "-0.5");
        assert_eq!(text(0.1), "0.1");
        assert_eq!(text(f64::from(0.1f32)), "0.10000000149011612");
        assert_eq!(text(1e20), "100000000000000000000.0");
        assert_eq!(text(1e21), "1e21");
        assert_eq!(text(1.5e21), "1.5e21");
        assert_eq!(text(1460526115e21), "1.460526115e30");
        assert_eq!(text(0.000001), "0.000001");
        assert_eq!(text(0.0000001), "1e-7");
        assert_eq!(text(1.25e-7), "1.25e-7");
        assert_eq!(text(f64::MAX), "1.7976931348623157e308");
        assert_eq!(text(f64::MIN_POSITIVE), "2.2250738585072014e-308");
        assert_eq!(text(5e-324), "5e-324");
    }

    /// Grisu2's digits always read back as the same double.
    #[test]
    fn every_double_reads_back_as_itself() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..300_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for v in [f64::from_bits(x), (x % 10_000_000_000) as f64 / 1e4, f64::from(f32::from_bits(x as u32))] {
                if v.is_finite() {
                    let t = text(v);
                    assert_eq!(t.parse::<f64>().unwrap().to_bits(), v.to_bits(), "{t}");
                }
            }
        }
    }
}
