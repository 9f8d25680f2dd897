//! Finding a TrueType font for figure text, once per process.
//!
//! plotters' `ab_glyph` text backend draws with fonts registered at run time under a family
//! name. We register one file as the `"sans-serif"` family, which every figure uses.

use std::path::PathBuf;
use std::sync::OnceLock;

/// The font family every figure uses.
pub const FONT_FAMILY: &str = "sans-serif";

/// Where the font is looked for, in order, after `$ECGRAD_FONT`.
const CANDIDATES: [&str; 9] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", // Debian, Ubuntu (fonts-dejavu-core)
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",          // Fedora
    "/usr/share/fonts/TTF/DejaVuSans.ttf",             // Arch
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
    "/Library/Fonts/Arial.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "C:\\Windows\\Fonts\\arial.ttf",
];

static FONT: OnceLock<Result<PathBuf, String>> = OnceLock::new();

fn load() -> Result<PathBuf, String> {
    let mut tried = Vec::new();
    let from_env = std::env::var_os("ECGRAD_FONT").map(PathBuf::from);
    if let Some(p) = &from_env {
        // An explicit choice that fails is an error, not a silent fallback.
        return register(p).map(|()| p.clone());
    }
    for c in CANDIDATES {
        let p = PathBuf::from(c);
        if p.is_file() {
            match register(&p) {
                Ok(()) => return Ok(p),
                Err(e) => tried.push(e),
            }
        } else {
            tried.push(format!("{c} (absent)"));
        }
    }
    Err(format!(
        "no TrueType font for figure text: install one (Debian/Ubuntu: `apt-get install \
         fonts-dejavu-core`) or set ECGRAD_FONT=/path/to/font.ttf; tried: {}",
        tried.join(", ")
    ))
}

fn register(path: &std::path::Path) -> Result<(), String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read font {}: {e}", path.display()))?;
    // plotters keeps registered fonts for the life of the process and wants &'static bytes:
    // one font file (~700 KB), leaked once.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font(FONT_FAMILY, plotters::style::FontStyle::Normal, bytes)
        .map_err(|_| format!("{} is not a valid TrueType font", path.display()))
}

/// Registers the figure font (once per process) and returns its path.
///
/// # Errors
/// When no font is found or `$ECGRAD_FONT` names an unreadable or invalid file; the message says
/// what to install and lists the paths tried.
pub fn ensure_font() -> anyhow::Result<PathBuf> {
    FONT.get_or_init(load)
        .clone()
        .map_err(|e| anyhow::anyhow!(e))
}
