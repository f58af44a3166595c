// SPDX-License-Identifier: GPL-2.0

//! Model-based randomized test of the region state machine (`state.rs`, `epoch_state.rs`, the
//! undo share and the layout operations) on the simulated persistent memory of `crash_sim.rs`.
//!
//! Seeded random sequences of create, open (four simulated processes of three users), store,
//! PMSYNC, close, delete, resize both ways, format, unload with reattach, and power cuts that
//! persist a random subset of the lines in flight, run against the same `core` code the module
//! runs, glued as the module glues it (the fault path's first write, the commit, the last close,
//! resize's cut pages, attach and recovery). After every step a plain reference model says what
//! each region must hold (owner, mode, size, committed and live bytes), which calls must fail and
//! how, and what the undo share allows; any difference fails with the seed and a shrunk minimal
//! sequence of steps.
//!
//! `MODEL_STEPS` (default 50,000 in all) and `MODEL_SEED` (default: a fixed list) set the run;
//! `make model` runs ten million steps.

extern crate std;

use crate::alloc::FreeSpace;
use crate::alloc::OutOfMemory;
use crate::crash_sim::SimPm;
use crate::epoch_state::{DirtyPages, EpochState, FirstWrite, Refused, UndoSlots, WriteRange};
use crate::geometry::PAGE_SIZE;
use crate::line_log::RECORDS_PER_SLOT;
use crate::ops;
use crate::pm::Pm;
use crate::state::{self, Caller, Errno, ResizePlan, Slot, Table};
use crate::superblock::{Layout, Superblock};
use crate::table::{Extent, Region};
use crate::undo_share::{self, Shortage};
use std::cell::RefCell;
use std::format;
use std::rc::Rc;
use std::string::String;
use std::vec;
use std::vec::Vec;

const DEVICE_PAGES: u64 = 96;
const ENTRIES: u32 = 4;
const SLOTS: u32 = 8;
const NAMES: [&[u8]; 4] = [b"a", b"b", b"c", b"d"];
const UIDS: [u32; 3] = [0, 1000, 2000];
/// The simulated processes: their uids.
const PROCS: [u32; 4] = [0, 1000, 1000, 2000];
const MODES: [u32; 3] = [0o600, 0o644, 0o666];
const PS: usize = PAGE_SIZE as usize;
/// Cache lines per page.
const LINES_PER_PAGE: u64 = PAGE_SIZE / 64;

/// A user: root may do anything; others by the mode bits (group = uid here).
struct User(u32);

impl Caller for User {
    fn uid(&self) -> u32 {
        self.0
    }
    fn gid(&self) -> u32 {
        self.0
    }
    fn may_access(&self, r: &Region, write: bool) -> bool {
        if self.0 == 0 {
            return true;
        }
        let bits = if r.uid == self.0 {
            r.mode >> 6
        } else if r.gid == self.0 {
            r.mode >> 3
        } else {
            r.mode
        } & 7;
        bits & 4 != 0 && (!write || bits & 2 != 0)
    }
    fn is_admin(&self) -> bool {
        self.0 == 0
    }
}

/// The dirty set on the host: pages and slots in save order, and the line records of the epoch
/// (also used by the other host tests of `EpochState`).
#[derive(Default)]
pub(crate) struct HostDirty {
    pages: Vec<u64>,
    slots: Vec<u32>,
    masks: Vec<(u64, u64)>,
    records: Vec<u64>,
    line_slots: Vec<u32>,
}

impl DirtyPages for HostDirty {
    fn contains(&self, page: u64) -> bool {
        self.pages.contains(&page)
    }
    fn insert(&mut self, page: u64, slot: u32) -> Result<(), OutOfMemory> {
        self.pages.push(page);
        self.slots.push(slot);
        Ok(())
    }
    fn pages(&self) -> &[u64] {
        &self.pages
    }
    fn slots(&self) -> &[u32] {
        &self.slots
    }
    fn clear(&mut self) {
        self.pages.clear();
        self.slots.clear();
        self.masks.clear();
        self.records.clear();
        self.line_slots.clear();
    }
    fn lines_logged(&self, page: u64) -> u64 {
        self.masks
            .iter()
            .find(|(p, _)| *p == page)
            .map_or(0, |(_, m)| *m)
    }
    fn log_line(&mut self, page: u64, line: u32) -> Result<(), OutOfMemory> {
        match self.masks.iter_mut().find(|(p, _)| *p == page) {
            Some((_, m)) => *m |= 1 << line,
            None => self.masks.push((page, 1 << line)),
        }
        self.records.push(page * 64 + u64::from(line));
        Ok(())
    }
    fn records(&self) -> &[u64] {
        &self.records
    }
    fn line_slots(&self) -> &[u32] {
        &self.line_slots
    }
    fn push_line_slot(&mut self, slot: u32) -> Result<(), OutOfMemory> {
        self.line_slots.push(slot);
        Ok(())
    }
    fn forget_lines_from(&mut self, first: u64, mut forget: impl FnMut(u32, u32)) {
        let per_slot = crate::line_log::RECORDS_PER_SLOT as usize;
        for (n, line) in self.records.iter_mut().enumerate() {
            if *line != u64::MAX && *line >= first {
                forget(self.line_slots[n / per_slot], (n % per_slot) as u32);
                *line = u64::MAX;
            }
        }
        self.masks.retain(|(p, _)| p * 64 < first);
    }
    fn drop_lines(&mut self) {
        self.masks.clear();
        self.records.clear();
        self.line_slots.clear();
    }
    fn remove_from(&mut self, first: u64, mut forget: impl FnMut(u32)) {
        let mut i = 0;
        while i < self.pages.len() {
            if self.pages[i] >= first {
                forget(self.slots[i]);
                self.pages.remove(i);
                self.slots.remove(i);
            } else {
                i += 1;
            }
        }
    }
}

/// The undo pool on the host: free slots and per-owner charges.
struct HostPool {
    free: RefCell<Vec<bool>>,
    charges: RefCell<Vec<(u32, u32)>>,
    share: u32,
}

impl HostPool {
    fn new() -> Self {
        Self {
            free: RefCell::new(vec![true; SLOTS as usize]),
            charges: RefCell::new(Vec::new()),
            share: undo_share::share_per_owner(SLOTS),
        }
    }
}

impl UndoSlots for HostPool {
    fn take_for(&self, uid: u32) -> Result<u32, Shortage> {
        let mut charges = self.charges.borrow_mut();
        undo_share::charge(&mut *charges, uid, self.share)?;
        let mut free = self.free.borrow_mut();
        match free.iter().position(|f| *f) {
            Some(s) => {
                free[s] = false;
                Ok(s as u32)
            }
            None => {
                undo_share::discharge(&mut *charges, uid, 1);
                Err(Shortage::AreaFull)
            }
        }
    }
    fn give_back(&self, uid: u32, slots: &[u32]) {
        let mut free = self.free.borrow_mut();
        for &s in slots {
            assert!(!free[s as usize], "slot {s} given back twice");
            free[s as usize] = true;
        }
        undo_share::discharge(&mut *self.charges.borrow_mut(), uid, slots.len() as u32);
    }
}

/// An open region on the host: what the module's `OpenRegion` keeps under its lock.
struct Open {
    index: u32,
    region: Region,
    epoch: EpochState<HostDirty>,
}

type Handle = Rc<RefCell<Open>>;

/// The system under test: the device, the table, the undo pool, the processes' descriptors.
struct System {
    pm: SimPm,
    layout: Layout,
    table: Table<Vec<Slot<Handle>>, Vec<Extent>>,
    pool: HostPool,
    /// Each process's descriptors: the region handle and whether it is writable.
    fds: Vec<Vec<(Handle, bool)>>,
}

fn superblock() -> Superblock {
    Superblock {
        uuid: [3; 16],
        device_pages: DEVICE_PAGES,
        table_entries: ENTRIES,
        undo_slots: SLOTS,
    }
}

impl System {
    fn formatted() -> Self {
        let mut pm = SimPm::new((DEVICE_PAGES * PAGE_SIZE) as usize);
        ops::format(&mut pm, &superblock()).expect("formats");
        pm.settle();
        Self::attach(pm)
    }

    /// Attach as the module does it (`state::attach`).
    fn attach(mut pm: SimPm) -> Self {
        let (_, layout) = ops::read_superblock(&pm, DEVICE_PAGES).expect("superblock");
        let mut kept = Vec::new();
        let (table, _) = state::attach(
            &mut pm,
            &layout,
            &[],
            Vec::new(),
            Vec::new(),
            &mut kept,
            Vec::new(),
            |e| panic!("no media error here: {e:?}"),
        )
        .expect("the device attaches");
        assert!(kept.is_empty(), "no slot kept without media errors");
        Self {
            pm,
            layout,
            table,
            pool: HostPool::new(),
            fds: vec![Vec::new(); PROCS.len()],
        }
    }

    fn create(&mut self, uid: u32, name: &[u8], pages: u64, mode: u32) -> Result<(), Errno> {
        let (index, region) =
            self.table
                .create_reserve(&User(uid), name, pages * PAGE_SIZE, mode)?;
        for e in region.extents() {
            ops::clear_pages(&mut self.pm, *e);
        }
        self.table.create_commit(&mut self.pm, &self.layout, index)
    }

    fn open(&mut self, proc: usize, name: &[u8], write: bool) -> Result<(), Errno> {
        let (index, h) =
            self.table
                .open(&User(PROCS[proc]), name, write, |index, region, epoch| {
                    Ok(Rc::new(RefCell::new(Open {
                        index,
                        region: *region,
                        epoch: EpochState {
                            epoch,
                            dirty: HostDirty::default(),
                        },
                    })))
                })?;
        self.table.opened(index, h.clone());
        self.fds[proc].push((h, write));
        Ok(())
    }

    fn close(&mut self, proc: usize, k: usize) {
        let (h, _) = self.fds[proc].remove(k);
        let index = h.borrow().index;
        self.table.closed(index, |r| {
            let r = r.borrow();
            (r.epoch.held_slots() > 0, r.epoch.epoch)
        });
    }

    /// A store of `len` bytes of `byte` at `off` in page `pgoff` through a writable descriptor:
    /// the fault path's first write, then the store. `Err` is the SIGBUS.
    fn store(
        &mut self,
        h: &Handle,
        pgoff: u64,
        off: usize,
        len: usize,
        byte: u8,
    ) -> Result<(), Refused> {
        let mut o = h.borrow_mut();
        let Open {
            index,
            region,
            epoch,
        } = &mut *o;
        match epoch.first_write(
            &mut self.pm,
            &self.layout,
            *index,
            region,
            pgoff,
            &self.pool,
            |_| {},
        )? {
            FirstWrite::AlreadySaved | FirstWrite::Saved { .. } => {}
        }
        let page = region.device_page(pgoff).expect("in range");
        self.pm
            .write(page * PAGE_SIZE + off as u64, &vec![byte; len]);
        Ok(())
    }

    /// A write through the kernel of `len` bytes of `byte` at `off` in page `pgoff`, committed
    /// after it when `commit`.
    #[allow(clippy::too_many_arguments)]
    fn write(
        &mut self,
        h: &Handle,
        pgoff: u64,
        off: usize,
        len: usize,
        byte: u8,
        commit: bool,
    ) -> Result<(), Refused> {
        let mut o = h.borrow_mut();
        let Open {
            index,
            region,
            epoch,
        } = &mut *o;
        let data = vec![byte; len];
        let range = WriteRange {
            offset: pgoff * PAGE_SIZE + off as u64,
            data: &data,
        };
        epoch.log_write(
            &mut self.pm,
            &self.layout,
            *index,
            region,
            &[range],
            &self.pool,
            |_| {},
        )?;
        if commit {
            epoch
                .commit(
                    &mut self.pm,
                    &self.layout,
                    *index,
                    region,
                    &self.pool,
                    |_| {},
                )
                .expect("epochs left");
        }
        Ok(())
    }

    fn pmsync(&mut self, h: &Handle) {
        let mut o = h.borrow_mut();
        let Open {
            index,
            region,
            epoch,
        } = &mut *o;
        epoch
            .commit(
                &mut self.pm,
                &self.layout,
                *index,
                region,
                &self.pool,
                |_| {},
            )
            .expect("epochs left");
    }

    fn delete(&mut self, uid: u32, name: &[u8]) -> Result<(), Errno> {
        let kept = self
            .table
            .delete(&User(uid), name, &mut self.pm, &self.layout, |r| {
                r.borrow().epoch.epoch
            })?;
        // The module gives a dropped region's slots back as it goes.
        if let Some(h) = kept {
            let mut o = h.borrow_mut();
            let uid = o.region.uid;
            let slots = o.epoch.dirty.slots.clone();
            let line_slots = o.epoch.dirty.line_slots.clone();
            o.epoch.dirty.clear();
            self.pool.give_back(uid, &slots);
            self.pool.give_back(uid, &line_slots);
        }
        Ok(())
    }

    fn resize(&mut self, uid: u32, name: &[u8], pages: u64) -> Result<(), Errno> {
        // No mapping is modelled: a shrink is never over one.
        let plan = self
            .table
            .resize_plan(&User(uid), name, pages * PAGE_SIZE, |_, _| false)?;
        let Some((index, resized, old_pages)) = plan.target() else {
            return Ok(());
        };
        if let ResizePlan::Grow { fresh, .. } = &plan {
            for e in fresh.as_slice() {
                ops::clear_pages(&mut self.pm, *e);
            }
        }
        // The module's set_region: the open region takes the new shape, and a shrink's cut
        // pages lose their slots.
        let (layout, pool) = (&self.layout, &self.pool);
        self.table.resize_commit(
            &mut self.pm,
            layout,
            index,
            &resized,
            old_pages,
            |_, _| Ok(()),
            |h, resized, old_pages, pm| {
                let mut o = h.borrow_mut();
                o.region = *resized;
                if resized.size_pages < old_pages {
                    let uid = o.region.uid;
                    o.epoch
                        .forget_from(pm, layout, uid, resized.size_pages, pool);
                }
                (o.epoch.held_slots() > 0, o.epoch.epoch)
            },
        )?;
        if let ResizePlan::Shrink { cut, .. } = &plan {
            assert_eq!(
                self.table.release(cut.as_slice()),
                0,
                "cut pages free already"
            );
        }
        Ok(())
    }

    fn format(&mut self, uid: u32) -> Result<(), Errno> {
        if uid != 0 {
            return Err(Errno::Perm);
        }
        if !self.table.may_format() {
            return Err(Errno::Busy);
        }
        ops::format(&mut self.pm, &superblock()).expect("formats");
        let mut used: [Extent; 0] = [];
        self.table = Table {
            slots: (0..ENTRIES).map(|_| Slot::Free(0)).collect(),
            free: FreeSpace::rebuild(
                self.layout.data_start,
                self.layout.data_pages,
                &mut used,
                Vec::new(),
            )
            .expect("rebuilds"),
        };
        Ok(())
    }

    /// The bytes of `pages` pages of region `name` as the CPU sees them.
    fn contents(&self, name: &[u8]) -> Option<Vec<Vec<u8>>> {
        let (_, live) = self.table.find(name)?;
        let region = match live.open_region() {
            Some(h) => h.borrow().region,
            None => live.region,
        };
        assert_eq!(
            region, live.region,
            "the open region's shape is the table's"
        );
        Some(
            (0..region.size_pages)
                .map(|p| {
                    let o = (region.device_page(p).expect("in range") * PAGE_SIZE) as usize;
                    self.pm.visible()[o..o + PS].to_vec()
                })
                .collect(),
        )
    }
}

/// What the reference model knows of one region.
#[derive(Clone, Debug)]
struct ModelRegion {
    uid: u32,
    mode: u32,
    committed: Vec<Vec<u8>>,
    live: Vec<Vec<u8>>,
    /// Pages saved in this epoch (each holds an undo slot).
    dirty: Vec<u64>,
    /// Lines with a line record in this epoch (region line numbers).
    logged: Vec<u64>,
    /// Records made in this epoch, forgotten ones included: `records.div_ceil(48)` line-log slots.
    records: usize,
    /// Descriptors open on it: (process, writable), in open order per process.
    open: usize,
}

impl ModelRegion {
    /// Undo slots the epoch holds: one per saved page, one per 48 line records.
    fn slots(&self) -> usize {
        self.dirty.len() + self.records.div_ceil(RECORDS_PER_SLOT as usize)
    }
    /// A commit (or a roll-back) ends the epoch.
    fn clear_epoch(&mut self) {
        self.dirty.clear();
        self.logged.clear();
        self.records = 0;
    }
}

/// The reference model: regions by name, and each process's descriptors (name, writable).
#[derive(Clone, Debug, Default)]
struct Model {
    regions: Vec<(Vec<u8>, ModelRegion)>,
    fds: Vec<Vec<(Vec<u8>, bool)>>,
}

impl Model {
    fn new() -> Self {
        Self {
            regions: Vec::new(),
            fds: vec![Vec::new(); PROCS.len()],
        }
    }
    fn get(&self, name: &[u8]) -> Option<&ModelRegion> {
        self.regions.iter().find(|(n, _)| n == name).map(|(_, r)| r)
    }
    fn get_mut(&mut self, name: &[u8]) -> Option<&mut ModelRegion> {
        self.regions
            .iter_mut()
            .find(|(n, _)| n == name)
            .map(|(_, r)| r)
    }
    fn held(&self, uid: u32) -> usize {
        self.regions
            .iter()
            .filter(|(_, r)| r.uid == uid)
            .map(|(_, r)| r.slots())
            .sum()
    }
    fn held_total(&self) -> usize {
        self.regions.iter().map(|(_, r)| r.slots()).sum()
    }
    fn may_access(uid: u32, r: &ModelRegion, write: bool) -> bool {
        User(uid).may_access(&Region::new(b"x", r.uid, r.uid, r.mode, &[], 0), write)
    }
    /// Every region back to its last commit (an unload or a power cut, then attach).
    fn roll_back(&mut self) {
        for (_, r) in self.regions.iter_mut() {
            r.live = r.committed.clone();
            r.clear_epoch();
            r.open = 0;
        }
        for f in self.fds.iter_mut() {
            f.clear();
        }
    }
}

/// One step of a run. Indexes pick among names, users, processes and descriptors modulo their
/// counts, so that a step still means something when earlier steps are removed (shrinking).
#[derive(Clone, Copy, Debug)]
enum Step {
    Create {
        user: usize,
        name: usize,
        pages: u64,
        mode: usize,
    },
    Open {
        proc: usize,
        name: usize,
        write: bool,
    },
    Close {
        proc: usize,
        fd: usize,
    },
    /// The process exits: every descriptor it holds closes.
    Exit {
        proc: usize,
    },
    Store {
        proc: usize,
        fd: usize,
        page: u64,
        off: usize,
        len: usize,
        byte: u8,
    },
    /// A write through the kernel (`REGION_IOC_WRITE`), committed after it when `commit`.
    Write {
        proc: usize,
        fd: usize,
        page: u64,
        off: usize,
        len: usize,
        byte: u8,
        commit: bool,
    },
    Sync {
        proc: usize,
        fd: usize,
    },
    Delete {
        user: usize,
        name: usize,
    },
    Resize {
        user: usize,
        name: usize,
        pages: u64,
    },
    Format {
        user: usize,
    },
    Unload,
    Cut {
        seed: u64,
    },
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn random_step(rng: &mut Rng) -> Step {
    let user = rng.below(UIDS.len() as u64) as usize;
    let proc = rng.below(PROCS.len() as u64) as usize;
    let name = rng.below(NAMES.len() as u64) as usize;
    let fd = rng.below(4) as usize;
    match rng.below(100) {
        0..=9 => Step::Create {
            user,
            name,
            pages: 1 + rng.below(5),
            mode: rng.below(MODES.len() as u64) as usize,
        },
        10..=22 => Step::Open {
            proc,
            name,
            write: rng.below(3) != 0,
        },
        23..=29 => Step::Close { proc, fd },
        30..=35 => Step::Exit { proc },
        36..=55 => Step::Store {
            proc,
            fd,
            page: rng.below(6),
            off: rng.below(PS as u64 - 200) as usize,
            len: 1 + rng.below(200) as usize,
            byte: rng.next() as u8,
        },
        56..=67 => Step::Write {
            proc,
            fd,
            page: rng.below(6),
            off: rng.below(PS as u64 - 200) as usize,
            len: 1 + rng.below(200) as usize,
            byte: rng.next() as u8,
            commit: rng.below(2) == 0,
        },
        68..=77 => Step::Sync { proc, fd },
        78..=84 => Step::Delete { user, name },
        85..=92 => Step::Resize {
            user,
            name,
            pages: 1 + rng.below(6),
        },
        93 => Step::Format { user },
        94..=96 => Step::Unload,
        _ => Step::Cut { seed: rng.next() },
    }
}

/// Runs `steps` on a fresh system and model; `Err` names the first step whose outcome differs.
fn run(steps: &[Step]) -> Result<(), String> {
    let mut sys = System::formatted();
    let mut m = Model::new();
    for (i, step) in steps.iter().enumerate() {
        apply(&mut sys, &mut m, step).map_err(|e| format!("step {i} {step:?}: {e}"))?;
        check(&sys, &m).map_err(|e| format!("after step {i} {step:?}: {e}"))?;
    }
    Ok(())
}

fn expect<T: core::fmt::Debug>(
    got: Result<T, Errno>,
    want: Result<(), Errno>,
) -> Result<(), String> {
    match (&got, want) {
        (Ok(_), Ok(())) => Ok(()),
        (Err(g), Err(w)) if *g == w => Ok(()),
        _ => Err(format!("got {got:?}, the model says {want:?}")),
    }
}

fn apply(sys: &mut System, m: &mut Model, step: &Step) -> Result<(), String> {
    let share = undo_share::share_per_owner(SLOTS) as usize;
    match *step {
        Step::Create {
            user,
            name,
            pages,
            mode,
        } => {
            let (uid, name) = (UIDS[user], NAMES[name]);
            let data_free = sys.table.free.free_pages();
            let want = if m.get(name).is_some() {
                Err(Errno::Exist)
            } else if m.regions.len() as u32 >= ENTRIES || data_free < pages {
                Err(Errno::NoSpc)
            } else {
                Ok(())
            };
            let got = sys.create(uid, name, pages, MODES[mode]);
            // Free space may be too fragmented for 12 extents: never with these sizes.
            expect(got, want)?;
            if want.is_ok() {
                let zero = vec![vec![0u8; PS]; pages as usize];
                m.regions.push((
                    name.to_vec(),
                    ModelRegion {
                        uid,
                        mode: MODES[mode],
                        committed: zero.clone(),
                        live: zero,
                        dirty: Vec::new(),
                        logged: Vec::new(),
                        records: 0,
                        open: 0,
                    },
                ));
            }
        }
        Step::Open { proc, name, write } => {
            let name = NAMES[name];
            let want = match m.get(name) {
                None => Err(Errno::NoEnt),
                Some(r) if !Model::may_access(PROCS[proc], r, write) => Err(Errno::Acces),
                Some(_) => Ok(()),
            };
            expect(sys.open(proc, name, write), want)?;
            if want.is_ok() {
                if let Some(r) = m.get_mut(name) {
                    r.open += 1;
                }
                m.fds[proc].push((name.to_vec(), write));
            }
        }
        Step::Close { proc, fd } => {
            if m.fds[proc].is_empty() {
                return Ok(());
            }
            let k = fd % m.fds[proc].len();
            let (name, _) = m.fds[proc].remove(k);
            if let Some(r) = m.get_mut(&name) {
                r.open -= 1;
            }
            sys.close(proc, k);
        }
        Step::Exit { proc } => {
            while let Some((name, _)) = m.fds[proc].pop() {
                if let Some(r) = m.get_mut(&name) {
                    r.open -= 1;
                }
                let last = sys.fds[proc].len() - 1;
                sys.close(proc, last);
            }
        }
        Step::Store {
            proc,
            fd,
            page,
            off,
            len,
            byte,
        } => {
            if m.fds[proc].is_empty() {
                return Ok(());
            }
            let k = fd % m.fds[proc].len();
            let (name, write) = m.fds[proc][k].clone();
            if !write {
                return Ok(()); // a read-only mapping cannot be written: the MMU refuses it
            }
            let h = sys.fds[proc][k].0.clone();
            let r = m
                .get(&name)
                .ok_or("a descriptor on a region the model lost")?;
            let uid = r.uid;
            let room = |m: &Model| m.held(uid) < share && m.held_total() < SLOTS as usize;
            // What the fault path must do: store, commit the region first, or refuse (SIGBUS).
            let (commit_first, stores) = if page >= r.live.len() as u64 {
                (false, false)
            } else if r.dirty.contains(&page) || room(m) {
                (false, true)
            } else if r.slots() > 0 {
                let mut after = m.clone();
                let a = after.get_mut(&name).ok_or("lost")?;
                a.clear_epoch();
                (true, room(&after))
            } else {
                (false, false)
            };
            let got = sys.store(&h, page, off, len, byte);
            if got.is_ok() != stores {
                return Err(format!(
                    "store {got:?}; the model says {} (commit first: {commit_first})",
                    if stores { "it stores" } else { "it is refused" }
                ));
            }
            let r = m.get_mut(&name).ok_or("lost")?;
            if commit_first {
                r.committed = r.live.clone();
                r.clear_epoch();
            }
            if stores {
                if !r.dirty.contains(&page) {
                    r.dirty.push(page);
                }
                r.live[page as usize][off..off + len].fill(byte);
            }
        }
        Step::Write {
            proc,
            fd,
            page,
            off,
            len,
            byte,
            commit,
        } => {
            if m.fds[proc].is_empty() {
                return Ok(());
            }
            let k = fd % m.fds[proc].len();
            let (name, write) = m.fds[proc][k].clone();
            let allowed = state::may_commit(sys.fds[proc][k].1);
            expect(allowed, if write { Ok(()) } else { Err(Errno::BadF) })?;
            if allowed.is_err() {
                return Ok(());
            }
            let h = sys.fds[proc][k].0.clone();
            let r = m
                .get(&name)
                .ok_or("a descriptor on a region the model lost")?;
            let uid = r.uid;
            let lines = page * LINES_PER_PAGE + (off / 64) as u64
                ..=page * LINES_PER_PAGE + ((off + len - 1) / 64) as u64;
            let new_lines = |r: &ModelRegion| -> Vec<u64> {
                lines
                    .clone()
                    .filter(|l| !r.dirty.contains(&page) && !r.logged.contains(l))
                    .collect()
            };
            let per = RECORDS_PER_SLOT as usize;
            let slots_for = |r: &ModelRegion| {
                (r.records + new_lines(r).len()).div_ceil(per) - r.records.div_ceil(per)
            };
            let room = |m: &Model, n: usize| {
                n == 0 || (m.held(uid) + n <= share && m.held_total() + n <= SLOTS as usize)
            };
            // What the write must do: write, commit the region first, or refuse (ENOSPC).
            let (commit_first, writes) = if page >= r.live.len() as u64 {
                (false, false)
            } else if room(m, slots_for(r)) {
                (false, true)
            } else if r.slots() > 0 {
                let mut after = m.clone();
                let a = after.get_mut(&name).ok_or("lost")?;
                a.clear_epoch();
                let n = slots_for(a);
                (true, room(&after, n))
            } else {
                (false, false)
            };
            let got = sys.write(&h, page, off, len, byte, commit);
            if got.is_ok() != writes {
                return Err(format!(
                    "write {got:?}; the model says {} (commit first: {commit_first})",
                    if writes { "it writes" } else { "it is refused" }
                ));
            }
            let r = m.get_mut(&name).ok_or("lost")?;
            if commit_first {
                r.committed = r.live.clone();
                r.clear_epoch();
            }
            if writes {
                let new = new_lines(r);
                r.records += new.len();
                r.logged.extend(new);
                r.live[page as usize][off..off + len].fill(byte);
                if commit {
                    r.committed = r.live.clone();
                    r.clear_epoch();
                }
            }
        }
        Step::Sync { proc, fd } => {
            if m.fds[proc].is_empty() {
                return Ok(());
            }
            let k = fd % m.fds[proc].len();
            let (name, write) = m.fds[proc][k].clone();
            let allowed = state::may_commit(sys.fds[proc][k].1);
            expect(allowed, if write { Ok(()) } else { Err(Errno::BadF) })?;
            if allowed.is_err() {
                return Ok(());
            }
            let h = sys.fds[proc][k].0.clone();
            sys.pmsync(&h);
            let r = m.get_mut(&name).ok_or("lost")?;
            r.committed = r.live.clone();
            r.clear_epoch();
        }
        Step::Delete { user, name } => {
            let (uid, name) = (UIDS[user], NAMES[name]);
            let want = match m.get(name) {
                None => Err(Errno::NoEnt),
                Some(r) if r.uid != uid && uid != 0 => Err(Errno::Perm),
                Some(r) if r.open > 0 => Err(Errno::Busy),
                Some(_) => Ok(()),
            };
            expect(sys.delete(uid, name), want)?;
            if want.is_ok() {
                m.regions.retain(|(n, _)| n != name);
            }
        }
        Step::Resize { user, name, pages } => {
            let (uid, name) = (UIDS[user], NAMES[name]);
            let free = sys.table.free.free_pages();
            let want = match m.get(name) {
                None => Err(Errno::NoEnt),
                Some(r) if r.uid != uid && uid != 0 => Err(Errno::Perm),
                Some(r) if pages > r.live.len() as u64 && free < pages - r.live.len() as u64 => {
                    Err(Errno::NoSpc)
                }
                Some(_) => Ok(()),
            };
            let got = sys.resize(uid, name, pages);
            // Twelve extents may not be enough for a fragmented grow.
            if got == Err(Errno::NoSpc) && want.is_ok() {
                return Ok(());
            }
            expect(got, want)?;
            if want.is_ok() {
                let r = m.get_mut(name).ok_or("lost")?;
                let p = pages as usize;
                r.live.resize(p, vec![0u8; PS]);
                r.committed.resize(p, vec![0u8; PS]);
                r.dirty.retain(|&d| d < pages);
                r.logged.retain(|&l| l < pages * LINES_PER_PAGE);
                if r.logged.is_empty() {
                    r.records = 0;
                }
            }
        }
        Step::Format { user } => {
            let uid = UIDS[user];
            let want = if uid != 0 {
                Err(Errno::Perm)
            } else if m.regions.iter().any(|(_, r)| r.open > 0 || r.slots() > 0) {
                Err(Errno::Busy)
            } else {
                Ok(())
            };
            expect(sys.format(uid), want)?;
            if want.is_ok() {
                m.regions.clear();
            }
        }
        Step::Unload => {
            // Every process exits first (the module cannot unload while files are open).
            for p in 0..PROCS.len() {
                while !sys.fds[p].is_empty() {
                    sys.close(p, 0);
                }
            }
            sys.table.forget_kept(|r| r.borrow().epoch.epoch);
            sys.pm.settle();
            let image = sys.pm.visible().to_vec();
            *sys = System::attach(SimPm::from_image(image));
            m.roll_back();
        }
        Step::Cut { seed } => {
            let mut rng = Rng(seed | 1);
            let image = sys.pm.cut_now(|| rng.next() & 1 == 1);
            *sys = System::attach(SimPm::from_image(image));
            m.roll_back();
        }
    }
    Ok(())
}

/// The system against the model: the same regions with the same owner, mode, size and bytes,
/// and the undo slots the model says are held.
fn check(sys: &System, m: &Model) -> Result<(), String> {
    if sys.table.live_count() as usize != m.regions.len() {
        return Err(format!(
            "{} regions, the model has {}",
            sys.table.live_count(),
            m.regions.len()
        ));
    }
    for (name, r) in &m.regions {
        let (_, live) = sys
            .table
            .find(name)
            .ok_or_else(|| format!("region {:?} is missing", String::from_utf8_lossy(name)))?;
        if live.region.uid != r.uid || live.region.mode != r.mode {
            return Err(format!("region {}: owner or mode differ", show(name)));
        }
        if live.open_files() as usize != r.open {
            return Err(format!(
                "region {}: {} files open, the model says {}",
                show(name),
                live.open_files(),
                r.open
            ));
        }
        let bytes = sys.contents(name).ok_or("no contents")?;
        if bytes.len() != r.live.len() {
            return Err(format!(
                "region {}: {} pages, the model says {}",
                show(name),
                bytes.len(),
                r.live.len()
            ));
        }
        if let Some(p) = (0..bytes.len()).find(|&p| bytes[p] != r.live[p]) {
            return Err(format!(
                "region {} page {p}: bytes differ from the model (committed page {})",
                show(name),
                if bytes[p] == r.committed[p] {
                    "matches"
                } else {
                    "differs too"
                }
            ));
        }
    }
    let held: usize = SLOTS as usize - sys.pool.free.borrow().iter().filter(|f| **f).count();
    if held != m.held_total() {
        return Err(format!(
            "{held} undo slots held, the model says {}",
            m.held_total()
        ));
    }
    if !sys.table.may_format() && m.regions.iter().all(|(_, r)| r.open == 0 && r.slots() == 0) {
        return Err("format refused with nothing open or kept".into());
    }
    let free: u64 = sys.table.free.free_extents().iter().map(|e| e.pages).sum();
    let used: u64 = m.regions.iter().map(|(_, r)| r.live.len() as u64).sum();
    if free + used != sys.layout.data_pages {
        return Err(format!("free {free} + used {used} pages != the data area"));
    }
    Ok(())
}

fn show(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}

/// Removes steps one at a time while the run still fails: a minimal failing sequence.
fn shrink(mut steps: Vec<Step>) -> Vec<Step> {
    let mut i = 0;
    while i < steps.len() {
        let mut fewer = steps.clone();
        fewer.remove(i);
        if run(&fewer).is_err() {
            steps = fewer;
        } else {
            i += 1;
        }
    }
    steps
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[test]
fn the_state_machine_matches_the_model_through_crashes() {
    let total = env_u64("MODEL_STEPS").unwrap_or(50_000);
    let per_run = 200u64;
    let first_seed = env_u64("MODEL_SEED").unwrap_or(1);
    let runs = total.div_ceil(per_run);
    let mut steps_done = 0;
    for seed in first_seed..first_seed + runs {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let steps: Vec<Step> = (0..per_run).map(|_| random_step(&mut rng)).collect();
        if let Err(e) = run(&steps) {
            let minimal = shrink(steps);
            let listing: Vec<String> = minimal.iter().map(|s| format!("  {s:?}")).collect();
            panic!(
                "seed {seed}: {e}\nminimal failing sequence ({} steps):\n{}\nfails with: {}",
                minimal.len(),
                listing.join("\n"),
                run(&minimal).err().unwrap_or_default()
            );
        }
        steps_done += per_run;
    }
    std::println!(
        "model: {steps_done} steps in {runs} seeded runs from seed {first_seed}, no difference"
    );
}

#[test]
fn new_names_must_be_utf8() {
    let mut sys = System::formatted();
    assert_eq!(sys.create(1000, b"\x80\x81", 1, 0o600), Err(Errno::Inval));
    assert_eq!(sys.create(1000, "café".as_bytes(), 1, 0o600), Ok(()));
}

/// Bad blocks at attach, as the module places them: in metadata they refuse the device, in an
/// undo slot's page they retire it, in a region they damage it (open and resize `EIO`, delete
/// works), in free space they stay out of use.
#[test]
fn bad_blocks_are_placed_page_by_page_at_attach() {
    let mut sys = System::formatted();
    sys.create(1000, b"hit", 2, 0o600).expect("creates");
    sys.create(1000, b"fine", 2, 0o600).expect("creates");
    let hit = sys.table.find(b"hit").expect("exists").1.region.extents()[0].start;
    let layout = sys.layout;
    let free_page = layout.data_start + 10;
    let image = sys.pm.visible().to_vec();
    let attach = |bad: &[u64]| {
        let mut pm = SimPm::from_image(image.clone());
        let mut kept = Vec::new();
        let mut events = Vec::new();
        let got = state::attach::<_, Handle, _, _, _, _>(
            &mut pm,
            &layout,
            bad,
            Vec::new(),
            Vec::new(),
            &mut kept,
            Vec::new(),
            |e| events.push(e),
        );
        got.map(|(table, done)| (table, done, kept, events))
    };
    assert_eq!(
        attach(&[layout.table_start]).err(),
        Some(state::AttachError::BadMetadata {
            page: layout.table_start
        })
    );
    let (table, done, kept, events) =
        attach(&[layout.undo_data_start + 3, hit + 1, free_page]).expect("attaches");
    assert_eq!(kept, [3], "the slot on a bad page is retired");
    assert_eq!((done.retired_slots, done.bad_free_pages), (1, 1));
    assert_eq!(
        events,
        [state::AttachEvent::BadBlockInRegion {
            index: 0,
            page: hit + 1
        }]
    );
    let mut sys = System {
        pm: SimPm::from_image(image.clone()),
        layout,
        table,
        pool: HostPool::new(),
        fds: vec![Vec::new(); PROCS.len()],
    };
    assert_eq!(sys.open(1, b"hit", false), Err(Errno::Io));
    assert_eq!(sys.resize(1000, b"hit", 4), Err(Errno::Io));
    assert_eq!(sys.open(1, b"fine", true), Ok(()));
    assert_eq!(sys.delete(1000, b"hit"), Ok(()));
    // Nothing is ever placed on the bad free page, nor on the damaged region's pages.
    for n in 0..8 {
        let name = format!("n{n}");
        if sys.create(1000, name.as_bytes(), 4, 0o600).is_ok() {
            let r = sys.table.find(name.as_bytes()).expect("exists").1.region;
            for e in r.extents() {
                assert!(
                    !(e.start..e.end()).contains(&free_page),
                    "bad page handed out"
                );
                assert!(
                    !(e.start..e.end()).contains(&(hit + 1)),
                    "damaged page handed out"
                );
            }
        }
    }
}

/// A planned resize keeps the region busy until it commits or is given up: no second plan is made
/// from the same shape (two shrinks would give the same pages back twice).
#[test]
fn a_planned_resize_keeps_the_region_busy() {
    let mut sys = System::formatted();
    sys.create(1000, b"r", 4, 0o600).expect("creates");
    let who = User(1000);
    let plan = sys
        .table
        .resize_plan(&who, b"r", 2 * PAGE_SIZE, |_, _| false)
        .expect("plans");
    assert_eq!(
        sys.table.resize_plan(&who, b"r", PAGE_SIZE, |_, _| false),
        Err(Errno::Busy)
    );
    assert!(matches!(
        sys.table.delete(&who, b"r", &mut sys.pm, &sys.layout, |h| h
            .borrow()
            .epoch
            .epoch),
        Err(Errno::Busy)
    ));
    sys.table.resize_abort(&plan);
    assert!(sys
        .table
        .resize_plan(&who, b"r", PAGE_SIZE, |_, _| false)
        .is_ok());
}
