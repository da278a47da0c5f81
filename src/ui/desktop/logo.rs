//! The portal's logo (basics `logo`): a PNG decoded once into an egui texture, shown small in
//! the origin band. A logo that does not decode, or is absurdly large, is simply not shown.

use eframe::egui;

/// Most pixels a logo may have (the protocol layer already caps the file at 37.5 kB).
const MAX_PIXELS: usize = 1 << 20;

/// Decodes base64 PNG into an image egui can upload.
pub fn decode(base64_png: &str) -> Option<egui::ColorImage> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD.decode(base64_png).ok()?;
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(
        png::Transformations::EXPAND | png::Transformations::ALPHA | png::Transformations::STRIP_16,
    );
    let mut reader = decoder.read_info().ok()?;
    let (width, height) = (reader.info().width as usize, reader.info().height as usize);
    if width == 0 || height == 0 || width.checked_mul(height)? > MAX_PIXELS {
        return None;
    }
    let mut buffer = vec![0; reader.output_buffer_size()?];
    let frame = reader.next_frame(&mut buffer).ok()?;
    let pixels = buffer.get(..frame.buffer_size())?;
    let rgba = match frame.color_type {
        png::ColorType::Rgba => pixels.to_vec(),
        png::ColorType::GrayscaleAlpha => {
            pixels.chunks_exact(2).flat_map(|p| [p[0], p[0], p[0], p[1]]).collect()
        }
        _ => return None,
    };
    (rgba.len() == width * height * 4)
        .then(|| egui::ColorImage::from_rgba_unmultiplied([width, height], &rgba))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2x1 RGB PNG (red, green), built with zlib for this test.
    const TWO_PIXELS: &str = "iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAIAAAB7QOjdAAAAD0lEQVR4nGP4z8DA8J8BAAf/Af8Bf4mnAAAAAElFTkSuQmCC";

    #[test]
    fn png_logo_decodes_to_rgba() {
        let image = decode(TWO_PIXELS).expect("decodes");
        assert_eq!(image.size, [2, 1]);
        assert_eq!(image.pixels[0], egui::Color32::from_rgb(255, 0, 0));
        assert_eq!(image.pixels[1], egui::Color32::from_rgb(0, 255, 0));
    }

    #[test]
    fn garbage_is_not_shown() {
        assert!(decode("not base64!").is_none());
        assert!(decode("iVBORw0KGgo=").is_none());
    }
}
