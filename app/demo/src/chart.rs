//! The demo's chart: price with liquidation and bankruptcy events, the vols, and every trader's
//! maintenance margin over the replay — drawn with plotters as SVG, rasterised to PNG with resvg
//! (system fonts for the labels; without any font the PNG has no text, the SVG still does).

use crate::summary::Summary;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(23, 190, 207),
];

type R<T> = Result<T, Box<dyn std::error::Error>>;

fn hours(ts: i64, t0: i64) -> f64 {
    (ts - t0) as f64 / 3_600.0
}

fn day_label(t0: i64) -> impl Fn(&f64) -> String {
    move |h: &f64| {
        let ts = t0 + (*h * 3_600.0) as i64;
        let (_, m, d) = keel_backtest::data::civil_from_days(ts.div_euclid(86_400));
        format!("{m:02}-{d:02}")
    }
}

/// Draws the chart of `s` as SVG text.
pub fn svg(s: &Summary) -> R<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (1200, 960)).into_drawing_area();
        root.fill(&WHITE)?;
        let panels = root.split_evenly((3, 1));
        let tl = &s.timeline;
        let (Some(first), Some(last)) = (tl.first(), tl.last()) else {
            return Err("empty timeline".into());
        };
        let t0 = first.ts;
        let x1 = hours(last.ts, t0).max(1.0);
        let fmt = day_label(t0);

        // 1. Price, liquidations, bankruptcies.
        let (lo, hi) = tl.iter().fold((f64::MAX, 0f64), |(l, h), b| {
            (l.min(b.price), h.max(b.price))
        });
        let mut c = ChartBuilder::on(&panels[0])
            .caption(
                "BTC/USD oracle price; liquidations (red), bankruptcies (black)",
                ("sans-serif", 18),
            )
            .margin(10)
            .x_label_area_size(28)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..x1, (lo * 0.95)..(hi * 1.05))?;
        c.configure_mesh()
            .x_label_formatter(&fmt)
            .y_desc("USD")
            .draw()?;
        c.draw_series(LineSeries::new(
            tl.iter().map(|b| (hours(b.ts, t0), b.price)),
            COLORS[0].stroke_width(2),
        ))?;
        c.draw_series(
            s.liquidations
                .iter()
                .map(|l| Circle::new((hours(l.ts, t0), l.price), 4, RED.filled())),
        )?;
        c.draw_series(s.bankruptcies.iter().map(|b| {
            let p = tl
                .iter()
                .rev()
                .find(|x| x.ts <= b.ts)
                .map_or(lo, |x| x.price);
            Cross::new((hours(b.ts, t0), p), 7, BLACK.stroke_width(3))
        }))?;

        // 2. Vols.
        let vmax = tl
            .iter()
            .map(|b| b.margin_vol.max(b.implied_vol))
            .fold(0.0, f64::max)
            * 110.0;
        let mut c = ChartBuilder::on(&panels[1])
            .caption(
                "vol in force (margin) and the published implied-vol feed, %",
                ("sans-serif", 18),
            )
            .margin(10)
            .x_label_area_size(28)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..x1, 0.0..vmax.max(10.0))?;
        c.configure_mesh()
            .x_label_formatter(&fmt)
            .y_desc("% annualised")
            .draw()?;
        c.draw_series(LineSeries::new(
            tl.iter().map(|b| (hours(b.ts, t0), b.margin_vol * 100.0)),
            COLORS[3].stroke_width(2),
        ))?
        .label("vol in force")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], COLORS[3].stroke_width(2)));
        c.draw_series(LineSeries::new(
            tl.iter().map(|b| (hours(b.ts, t0), b.implied_vol * 100.0)),
            COLORS[6].stroke_width(1),
        ))?
        .label("implied-vol feed")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], COLORS[6].stroke_width(1)));
        c.configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;

        // 3. Maintenance margin of each trader.
        let mmax = tl
            .iter()
            .flat_map(|b| b.accounts.iter().map(|a| a.mm))
            .fold(0.0, f64::max)
            * 1.1;
        let mut c = ChartBuilder::on(&panels[2])
            .caption("maintenance margin per trader, USD", ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(28)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..x1, 0.0..mmax.max(1.0))?;
        c.configure_mesh()
            .x_label_formatter(&fmt)
            .y_desc("USD")
            .draw()?;
        for (i, a) in s
            .accounts
            .iter()
            .filter(|a| a.im_multiple > 0.0)
            .enumerate()
        {
            let color = COLORS[i % COLORS.len()];
            c.draw_series(LineSeries::new(
                tl.iter()
                    .filter_map(|b| b.accounts.get(i).map(|x| (hours(b.ts, t0), x.mm))),
                color.stroke_width(2),
            ))?
            .label(a.name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        }
        c.configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
    }
    Ok(out)
}

/// Rasterises `svg` to a PNG at `path`.
pub fn png(svg: &str, path: &Path) -> R<()> {
    use resvg::{tiny_skia, usvg};
    let mut opt = usvg::Options::default();
    let db = opt.fontdb_mut();
    db.load_system_fonts();
    // plotters writes generic families; map them to a family this machine has (fontdb's
    // defaults name fonts Debian does not ship).
    let family = ["DejaVu Sans", "Liberation Sans", "Noto Sans", "FreeSans"]
        .into_iter()
        .find(|f| {
            db.faces()
                .any(|face| face.families.iter().any(|(n, _)| n == f))
        })
        .map(str::to_string)
        .or_else(|| {
            db.faces()
                .next()
                .and_then(|f| f.families.first().map(|(n, _)| n.clone()))
        });
    if let Some(f) = family {
        db.set_sans_serif_family(f.clone());
        db.set_serif_family(f.clone());
        opt.font_family = f;
    }
    let tree = usvg::Tree::from_str(svg, &opt)?;
    let size = tree.size().to_int_size();
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height()).ok_or("empty chart")?;
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap.save_png(path)?;
    Ok(())
}

/// Writes `dir/keel-demo.svg` and `dir/keel-demo.png`; returns their paths (PNG `None` if it
/// could not be rendered).
pub fn write(s: &Summary, dir: &Path) -> R<(PathBuf, Option<PathBuf>)> {
    std::fs::create_dir_all(dir)?;
    let text = svg(s)?;
    let svg_path = dir.join("keel-demo.svg");
    std::fs::write(&svg_path, &text)?;
    let png_path = dir.join("keel-demo.png");
    let png_path = match png(&text, &png_path) {
        Ok(()) => Some(png_path),
        Err(_) => None,
    };
    Ok((svg_path, png_path))
}
