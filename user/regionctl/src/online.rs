//! `regionctl check` without an image: an online check through the module. It asks the module
//! for the device's layout and every region's extents and checks that they fit together (each
//! section inside the device, extents inside the data area, no page in two regions, extents
//! adding up to each region's size, used plus free pages equal to the data area), then checks
//! the heap of every region that holds one (`region-containers`), without taking its lock.

use region::{stat_name, Device};
use region_containers::Heap;
use std::io;

/// What an online check found.
#[derive(Debug, Default)]
pub struct OnlineReport {
    /// Regions checked.
    pub regions: usize,
    /// Regions that hold a heap, and whose heap was checked.
    pub heaps: usize,
    /// Data pages in regions.
    pub used_pages: u64,
    /// Free data pages, as the module counts them.
    pub free_pages: u64,
    /// Every inconsistency, one line each.
    pub problems: Vec<String>,
    /// Regions that could not be checked, and why.
    pub skipped: Vec<String>,
}

/// Checks the device behind `dev`; `progress(done, total)` is called after each region.
pub fn check(dev: &Device, progress: &mut dyn FnMut(usize, usize)) -> io::Result<OnlineReport> {
    let layout = dev.layout(None)?;
    let page = u64::from(dev.info()?.page_size);
    let mut r = OnlineReport {
        free_pages: layout.free_pages,
        ..OnlineReport::default()
    };
    let sections = [
        ("region table", layout.table_start, layout.undo_header_start),
        (
            "undo headers",
            layout.undo_header_start,
            layout.undo_data_start,
        ),
        ("undo data", layout.undo_data_start, layout.data_start),
        (
            "data area",
            layout.data_start,
            layout.data_start + layout.data_pages,
        ),
    ];
    for (what, start, end) in sections {
        if start > end || end > layout.device_pages {
            r.problems.push(format!(
                "{what} spans pages {start}..{end} of a {}-page device",
                layout.device_pages
            ));
        }
    }
    let data = layout.data_start..layout.data_start + layout.data_pages;
    let regions = dev.list()?;
    r.regions = regions.len();
    if regions.len() != layout.regions as usize {
        r.problems.push(format!(
            "the layout counts {} regions, the list has {}",
            layout.regions,
            regions.len()
        ));
    }
    let mut extents: Vec<(u64, u64, String)> = Vec::new();
    for (i, stat) in regions.iter().enumerate() {
        let name = stat_name(stat);
        let l = dev.layout(Some(&name))?;
        let mut pages = 0;
        for e in l.extents.iter().take(l.nr_extents as usize) {
            if e.pages == 0 || !data.contains(&e.start) || e.start + e.pages > data.end {
                r.problems.push(format!(
                    "region '{name}': extent at page {} (+{}) is outside the data area {}..{}",
                    e.start, e.pages, data.start, data.end
                ));
            }
            pages += e.pages;
            extents.push((e.start, e.start + e.pages, name.clone()));
        }
        if pages * page != stat.size {
            r.problems.push(format!(
                "region '{name}': extents hold {pages} pages, its size is {} bytes",
                stat.size
            ));
        }
        r.used_pages += pages;
        check_heap(dev, &name, &mut r);
        progress(i + 1, regions.len());
    }
    extents.sort();
    for pair in extents.windows(2) {
        if pair[1].0 < pair[0].1 {
            r.problems.push(format!(
                "regions '{}' and '{}' share pages {}..{}",
                pair[0].2,
                pair[1].2,
                pair[1].0,
                pair[0].1.min(pair[1].1)
            ));
        }
    }
    if r.used_pages + r.free_pages != layout.data_pages {
        r.problems.push(format!(
            "{} pages in regions and {} free make {}, not the data area's {}",
            r.used_pages,
            r.free_pages,
            r.used_pages + r.free_pages,
            layout.data_pages
        ));
    }
    Ok(r)
}

/// Checks the heap in region `name`, if it holds one.
fn check_heap(dev: &Device, name: &str, r: &mut OnlineReport) {
    let heap = match Heap::open(dev, name) {
        Ok(h) => h,
        Err(e) if e.to_string().ends_with("holds no heap (format one first)") => return,
        Err(e) => {
            r.skipped
                .push(format!("region '{name}': heap not checked: {e}"));
            return;
        }
    };
    r.heaps += 1;
    match heap.read(|g| g.check()) {
        Ok(report) => r.problems.extend(
            report
                .problems
                .into_iter()
                .map(|p| format!("region '{name}': heap: {p}")),
        ),
        Err(e) => r.problems.push(format!("region '{name}': heap: {e}")),
    }
}
