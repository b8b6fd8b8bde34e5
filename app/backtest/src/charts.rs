//! SVG charts with plotters' SVG backend: text is written as SVG `<text>`, so no font file is
//! read — the charts render the same on a fresh machine without system fonts.

use crate::data::{civil_from_days, DAY};
use plotters::prelude::*;
use std::path::Path;

/// A named series of (x, y) points.
#[derive(Clone, Debug)]
pub struct Line {
    /// Legend name.
    pub name: String,
    /// Colour index into the palette.
    pub color: usize,
    /// Points.
    pub points: Vec<(f64, f64)>,
}

/// One chart panel.
#[derive(Clone, Debug, Default)]
pub struct Panel {
    /// Title.
    pub title: String,
    /// Y axis label.
    pub y_label: String,
    /// Logarithmic y axis.
    pub log_y: bool,
    /// X values are unix times (labels as dates).
    pub time_x: bool,
    /// Lines.
    pub lines: Vec<Line>,
    /// Scatter series (drawn as dots).
    pub dots: Vec<Line>,
}

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(127, 127, 127),
    RGBColor(23, 190, 207),
];

/// Unix time as a fractional year (the x coordinate of time charts).
pub fn year(ts: i64) -> f64 {
    1970.0 + ts as f64 / (365.2425 * DAY as f64)
}

fn year_label(y: &f64) -> String {
    let ts = ((y - 1970.0) * 365.2425 * DAY as f64) as i64;
    let (yy, m, _) = civil_from_days(ts.div_euclid(DAY));
    format!("{yy}-{m:02}")
}

fn bounds(panel: &Panel) -> Option<(f64, f64, f64, f64)> {
    let pts = panel
        .lines
        .iter()
        .chain(&panel.dots)
        .flat_map(|l| l.points.iter())
        .filter(|(x, y)| x.is_finite() && y.is_finite() && (!panel.log_y || *y > 0.0));
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for &(x, y) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if !x0.is_finite() || !y0.is_finite() {
        return None;
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    if y1 <= y0 {
        y1 = y0 + y0.abs().max(1.0) * 0.1;
    }
    if !panel.log_y {
        let pad = (y1 - y0) * 0.05;
        y0 = if y0 >= 0.0 {
            (y0 - pad).max(0.0)
        } else {
            y0 - pad
        };
        y1 += pad;
    }
    Some((x0, x1, y0, y1))
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    panel: &Panel,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let Some((x0, x1, y0, y1)) = bounds(panel) else {
        return Ok(());
    };
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(&panel.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(70);
    macro_rules! finish {
        ($chart:expr) => {{
            let mut chart = $chart;
            let mut mesh = chart.configure_mesh();
            mesh.y_desc(panel.y_label.as_str())
                .light_line_style(WHITE.mix(0.0));
            if panel.time_x {
                mesh.x_label_formatter(&year_label);
            }
            mesh.draw()?;
            for l in &panel.lines {
                let c = PALETTE[l.color % PALETTE.len()];
                chart
                    .draw_series(LineSeries::new(
                        l.points
                            .iter()
                            .copied()
                            .filter(|(x, y)| x.is_finite() && y.is_finite()),
                        c.stroke_width(1),
                    ))?
                    .label(l.name.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                    });
            }
            for l in &panel.dots {
                let c = PALETTE[l.color % PALETTE.len()];
                chart
                    .draw_series(
                        l.points
                            .iter()
                            .copied()
                            .filter(|(x, y)| x.is_finite() && y.is_finite())
                            .map(|p| Circle::new(p, 3, c.filled())),
                    )?
                    .label(l.name.as_str())
                    .legend(move |(x, y)| Circle::new((x + 9, y), 3, c.filled()));
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()?;
        }};
    }
    if panel.log_y {
        finish!(builder.build_cartesian_2d(x0..x1, (y0..y1).log_scale())?);
    } else {
        finish!(builder.build_cartesian_2d(x0..x1, y0..y1)?);
    }
    Ok(())
}

/// Draws `panels` stacked vertically into an SVG file.
pub fn draw(path: &Path, panels: &[Panel], width: u32, panel_height: u32) -> DrawResult {
    let root = SVGBackend::new(path, (width, panel_height * panels.len().max(1) as u32))
        .into_drawing_area();
    root.fill(&WHITE)?;
    let areas = root.split_evenly((panels.len().max(1), 1));
    for (area, panel) in areas.iter().zip(panels) {
        draw_panel(area, panel)?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_an_svg_with_text_and_paths_without_fonts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.svg");
        let panel = Panel {
            title: "margin".into(),
            y_label: "% notional".into(),
            time_x: true,
            lines: vec![Line {
                name: "keel".into(),
                color: 0,
                points: (0..50)
                    .map(|i| (year(i * DAY), (i as f64).sin() + 2.0))
                    .collect(),
            }],
            dots: vec![Line {
                name: "exceedance".into(),
                color: 1,
                points: vec![(year(10 * DAY), 2.5)],
            }],
            ..Default::default()
        };
        let log = Panel {
            log_y: true,
            ..panel.clone()
        };
        draw(&path, &[panel, log], 600, 300).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("exceedance") && svg.contains("keel") && svg.contains("1970-01"));
        assert!(svg.contains("<polyline") || svg.contains("<path"));
        assert!(svg.contains("<circle"));
    }
}
