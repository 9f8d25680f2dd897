//! The geometry of a sliding window along one axis: the **one index function** shared by every
//! windowed op of this family (1D/2D pooling, conv2d's im2col and col2im, and their naive twins).
//!
//! Output position `t` and tap `j` read input position
//!
//! ```text
//! pos(t, j) = t·stride + j·dilation − padding      (signed; "no input" outside 0..in_len)
//! out_len   = ⌊(in_len + 2·padding − span) / stride⌋ + 1,   span = dilation·(kernel − 1) + 1
//! ```
//!
//! [`Axis::input_pos`] is that formula. [`Axis::valid_range`] is its closed-form inverse, the
//! contiguous range of `t` for which tap `j` lands inside the input; fast kernels loop over it so
//! their inner loops have no padding branch. A test checks the two agree exhaustively on small
//! axes, so the padding/stride/remainder logic exists once.

use crate::error::{Error, Result};

/// One axis of a sliding window: input length, kernel taps, stride, padding, dilation and the
/// resulting output length (always ≥ 1 once built).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Axis {
    /// Input length along this axis.
    pub in_len: usize,
    /// Output length along this axis (≥ 1).
    pub out_len: usize,
    /// Number of taps.
    pub kernel: usize,
    /// Step between consecutive windows (≥ 1).
    pub stride: usize,
    /// Implicit padding on both ends.
    pub padding: usize,
    /// Step between taps inside a window (≥ 1).
    pub dilation: usize,
}

impl Axis {
    /// Validates the parameters and computes the output length.
    ///
    /// # Errors
    /// - [`Error::InvalidParam`] if `kernel`, `stride` or `dilation` is 0;
    /// - [`Error::EmptyOutput`] if `in_len` is 0 or the window span is longer than the padded
    ///   input (nothing fits), naming the numbers.
    pub fn new(
        op: &'static str,
        in_len: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        dilation: usize,
    ) -> Result<Axis> {
        for (name, value) in [
            ("kernel", kernel),
            ("stride", stride),
            ("dilation", dilation),
        ] {
            if value == 0 {
                return Err(Error::InvalidParam {
                    op,
                    name,
                    value: "0".into(),
                    why: format!("{name} must be at least 1"),
                });
            }
        }
        if in_len == 0 {
            return Err(Error::EmptyOutput {
                op,
                detail: "the input has length 0 along a windowed axis".into(),
            });
        }
        let span = dilation * (kernel - 1) + 1;
        let padded = in_len + 2 * padding;
        if span > padded {
            return Err(Error::EmptyOutput {
                op,
                detail: format!(
                    "window span {span} (kernel {kernel}, dilation {dilation}) is longer than the \
                     padded input {in_len} + 2·{padding} = {padded}"
                ),
            });
        }
        Ok(Axis {
            in_len,
            out_len: (padded - span) / stride + 1,
            kernel,
            stride,
            padding,
            dilation,
        })
    }

    /// Distance from the first to the last tap, plus one: `dilation·(kernel − 1) + 1`.
    pub fn span(&self) -> usize {
        self.dilation * (self.kernel - 1) + 1
    }

    /// The one index function: the input position read by output `t`, tap `j`, or `None` when
    /// it falls into the padding.
    #[inline]
    pub fn input_pos(&self, t: usize, j: usize) -> Option<usize> {
        let unpadded = t * self.stride + j * self.dilation;
        let pos = unpadded.checked_sub(self.padding)?;
        (pos < self.in_len).then_some(pos)
    }

    /// The outputs `t ∈ [lo, hi)` whose tap `j` lands inside the input (lo == hi when none).
    /// Equivalent to `{t : input_pos(t, j).is_some()}`, which is always contiguous; inside the
    /// range, `input_pos(t, j) = lo·stride + j·dilation − padding + (t − lo)·stride`.
    #[inline]
    pub fn valid_range(&self, j: usize) -> (usize, usize) {
        let offset = j * self.dilation;
        // t·s + offset ≥ padding  ⇔  t ≥ ⌈(padding − offset) / s⌉
        let lo = self.padding.saturating_sub(offset).div_ceil(self.stride);
        // t·s + offset − padding < in_len  ⇔  t·s < in_len + padding − offset
        let room = (self.in_len + self.padding).saturating_sub(offset);
        let hi = room.div_ceil(self.stride).min(self.out_len);
        (lo.min(hi), hi)
    }

    /// Number of taps of window `t` that land inside the input (the divisor of an average pool
    /// that excludes padding).
    pub fn valid_taps(&self, t: usize) -> usize {
        (0..self.kernel)
            .filter(|&j| self.input_pos(t, j).is_some())
            .count()
    }

    /// Extra checks for pooling (PyTorch's rules): `padding ≤ span / 2`, and every window must
    /// contain at least one input sample (with dilation a window can otherwise fall entirely into
    /// the padding, leaving a max pool without a maximum).
    ///
    /// # Errors
    /// [`Error::InvalidParam`] naming `padding`.
    pub fn check_pooling(&self, op: &'static str) -> Result<()> {
        if 2 * self.padding > self.span() {
            return Err(Error::InvalidParam {
                op,
                name: "padding",
                value: self.padding.to_string(),
                why: format!(
                    "padding must be at most half the window span {} (kernel {}, dilation {})",
                    self.span(),
                    self.kernel,
                    self.dilation
                ),
            });
        }
        if let Some(t) = (0..self.out_len).find(|&t| self.valid_taps(t) == 0) {
            return Err(Error::InvalidParam {
                op,
                name: "padding",
                value: self.padding.to_string(),
                why: format!(
                    "window {t} lies entirely in the padding (input length {})",
                    self.in_len
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_range_matches_input_pos_exhaustively() {
        for in_len in 1..12 {
            for kernel in 1..6 {
                for stride in 1..5 {
                    for dilation in 1..4 {
                        for padding in 0..6 {
                            let Ok(ax) = Axis::new("t", in_len, kernel, stride, padding, dilation)
                            else {
                                continue;
                            };
                            for j in 0..kernel {
                                let (lo, hi) = ax.valid_range(j);
                                for t in 0..ax.out_len {
                                    let inside = t >= lo && t < hi;
                                    assert_eq!(
                                        inside,
                                        ax.input_pos(t, j).is_some(),
                                        "{ax:?} j={j} t={t}"
                                    );
                                    if inside {
                                        let want = lo * stride + j * dilation - padding
                                            + (t - lo) * stride;
                                        assert_eq!(ax.input_pos(t, j), Some(want));
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn out_len_and_errors() {
        // 10 samples, kernel 3, stride 3: windows at 0, 3, 6 (the remainder 9 is dropped).
        assert_eq!(Axis::new("t", 10, 3, 3, 0, 1).unwrap().out_len, 3);
        // Kernel longer than the signal: an error without padding, one window with it.
        assert!(matches!(
            Axis::new("t", 2, 3, 1, 0, 1),
            Err(Error::EmptyOutput { .. })
        ));
        assert_eq!(Axis::new("t", 2, 3, 1, 1, 1).unwrap().out_len, 2);
        assert!(matches!(
            Axis::new("t", 5, 2, 0, 0, 1),
            Err(Error::InvalidParam { name: "stride", .. })
        ));
        // Dilation 3, kernel 2, padding 2 on one sample: taps at −2 and 1, both outside.
        let ax = Axis::new("t", 1, 2, 1, 2, 3).unwrap();
        assert!(ax.check_pooling("t").is_err());
    }
}
