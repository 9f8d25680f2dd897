//! im2col and col2im for one sample, both driven by the one index function of
//! [`crate::ops::pool1d::window::Axis`]: along W, the output columns whose tap lands in the
//! image form one contiguous range read with one stride, so each row segment is a single strided
//! gather (SIMD-dispatched for f32) or a plain copy when the stride is 1.
//!
//! Layout of `cols` (`C_in·KH·KW` rows × `OH·OW` columns, row-major):
//! `cols[(c·KH + i)·KW + j][oh·OW + ow] = x[c, ih, iw]`, or 0 in the padding.

use super::Conv2dGeometry;
use crate::real::Real;

/// Fills `cols` from one sample `x_n` (`C_in·H·W` values); every element is overwritten.
///
/// # Panics
/// If `x_n.len() != C_in·H·W` or `cols.len() != C_in·KH·KW·OH·OW`.
pub fn im2col<T: Real>(x_n: &[T], g: &Conv2dGeometry, cols: &mut [T]) {
    let (ah, aw) = (&g.ah, &g.aw);
    let (w, ow, hw) = (aw.in_len, aw.out_len, g.in_pixels());
    assert!(x_n.len() == g.c_in * hw && cols.len() == g.taps() * g.out_pixels());
    for (row, cols_row) in cols.chunks_exact_mut(g.out_pixels()).enumerate() {
        let (c, i, j) = (
            row / (ah.kernel * aw.kernel),
            row / aw.kernel % ah.kernel,
            row % aw.kernel,
        );
        let (lo, hi) = aw.valid_range(j);
        for (oh, seg) in cols_row.chunks_exact_mut(ow).enumerate() {
            let Some(ih) = ah.input_pos(oh, i) else {
                seg.fill(T::ZERO); // the whole output row reads padding
                continue;
            };
            seg[..lo].fill(T::ZERO);
            seg[hi..].fill(T::ZERO);
            if lo < hi {
                let x_row = &x_n[c * hw + ih * w..c * hw + (ih + 1) * w];
                let start = lo * aw.stride + j * aw.dilation - aw.padding;
                if aw.stride == 1 {
                    seg[lo..hi].copy_from_slice(&x_row[start..start + (hi - lo)]);
                } else {
                    T::vec_gather_strided(x_row, start, aw.stride, &mut seg[lo..hi]);
                }
            }
        }
    }
}

/// The transpose of [`im2col`]: **accumulates** every element of `dcols` into the input position
/// it was read from, `dx_n[c, ih, iw] += dcols[(c,i,j)][(oh,ow)]`; padding entries are dropped.
///
/// # Panics
/// If `dx_n.len() != C_in·H·W` or `dcols.len() != C_in·KH·KW·OH·OW`.
pub fn col2im<T: Real>(dcols: &[T], g: &Conv2dGeometry, dx_n: &mut [T]) {
    let (ah, aw) = (&g.ah, &g.aw);
    let (w, ow, hw) = (aw.in_len, aw.out_len, g.in_pixels());
    assert!(dx_n.len() == g.c_in * hw && dcols.len() == g.taps() * g.out_pixels());
    for (row, dcols_row) in dcols.chunks_exact(g.out_pixels()).enumerate() {
        let (c, i, j) = (
            row / (ah.kernel * aw.kernel),
            row / aw.kernel % ah.kernel,
            row % aw.kernel,
        );
        let (lo, hi) = aw.valid_range(j);
        if lo == hi {
            continue;
        }
        let start = lo * aw.stride + j * aw.dilation - aw.padding;
        for (oh, seg) in dcols_row.chunks_exact(ow).enumerate() {
            if let Some(ih) = ah.input_pos(oh, i) {
                let dx_row = &mut dx_n[c * hw + ih * w..c * hw + (ih + 1) * w];
                if aw.stride == 1 {
                    T::vec_axpy(T::ONE, &seg[lo..hi], &mut dx_row[start..start + (hi - lo)]);
                } else {
                    T::vec_scatter_add_strided(&seg[lo..hi], dx_row, start, aw.stride);
                }
            }
        }
    }
}
