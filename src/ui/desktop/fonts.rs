//! Fonts for the dialog: egui's built-in fonts, with a system font added as a fallback when
//! one is installed, so every Kazakh letter (ә ғ қ ң ө ұ ү һ і) has a glyph whatever egui ships.

use eframe::egui;

/// System fonts tried in order; the first readable one becomes the fallback.
const FALLBACKS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "C:\\Windows\\Fonts\\segoeui.ttf",
];

/// Adds the first available system font after egui's own.
pub fn install(ctx: &egui::Context) {
    let Some(bytes) = FALLBACKS.iter().find_map(|path| std::fs::read(path).ok()) else {
        return;
    };
    let mut fonts = egui::FontDefinitions::default();
    fonts.font_data.insert("system".into(), egui::FontData::from_owned(bytes).into());
    for family in [egui::FontFamily::Proportional, egui::FontFamily::Monospace] {
        fonts.families.entry(family).or_default().push("system".into());
    }
    ctx.set_fonts(fonts);
}
