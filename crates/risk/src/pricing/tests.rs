use super::*;

#[test]
fn time_roots() {
    assert_eq!(sqrt_secs(0).unwrap(), 0);
    assert_eq!(sqrt_secs(-5).unwrap(), 0);
    let one_year = per_sqrt_year(sqrt_secs(SECONDS_PER_YEAR).unwrap()).unwrap();
    assert!((one_year - crate::fx::ONE).abs() <= 8, "{one_year}");
    let minute = sqrt_secs(60).unwrap() as f64 / 4294967296.0;
    assert!((minute / 60f64.sqrt() - 1.0).abs() < 1e-9);
}

#[test]
fn kinds_round_trip() {
    for k in [SeriesKind::Call, SeriesKind::Put, SeriesKind::Future] {
        assert_eq!(SeriesKind::from_u8(k as u8), Some(k));
    }
    assert_eq!(SeriesKind::from_u8(3), None);
}
