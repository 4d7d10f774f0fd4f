//! `dump --json`'s entry lines rendered on a second thread while the first reads, checks
//! and decodes the WAL: rendering (string escaping, base64) is most of the work, and the
//! two halves are independent. Lines go out in WAL order: one worker, batches in a FIFO,
//! results written in the order they come back. Memory stays at a few batches: the queue
//! to the worker holds two, and the reader writes finished batches after each hand-over.

use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver, SyncSender};

use super::render::{self, EntryJob};

/// One piece of output, in order.
#[derive(Debug)]
pub enum Job {
    /// An entry line to render.
    Entry(Box<EntryJob>),
    /// Lines already rendered (a finding).
    Bytes(Vec<u8>),
}

/// A batch is handed over at this many bytes of entry data, or this many jobs.
const BATCH_DATA: usize = 256 * 1024;
const BATCH_JOBS: usize = 1024;

/// The reader's side of the pipeline.
#[derive(Debug)]
pub struct Pipeline {
    batch: Vec<Job>,
    batch_data: usize,
    to_worker: Option<SyncSender<Vec<Job>>>,
    from_worker: Receiver<io::Result<Vec<u8>>>,
}

impl Pipeline {
    /// Start the worker in `scope`.
    pub fn start<'scope>(scope: &'scope std::thread::Scope<'scope, '_>) -> Pipeline {
        let (to_worker, jobs) = mpsc::sync_channel::<Vec<Job>>(2);
        let (done, from_worker) = mpsc::channel::<io::Result<Vec<u8>>>();
        scope.spawn(move || {
            for batch in jobs {
                let mut out = Vec::with_capacity(BATCH_DATA * 2);
                let rendered = batch
                    .iter()
                    .try_for_each(|job| match job {
                        Job::Entry(e) => render::entry_job_json(&mut out, e),
                        Job::Bytes(b) => out.write_all(b),
                    })
                    .map(|()| out);
                if done.send(rendered).is_err() {
                    break;
                }
            }
        });
        Pipeline {
            batch: Vec::new(),
            batch_data: 0,
            to_worker: Some(to_worker),
            from_worker,
        }
    }

    /// Queue an entry line; hands the batch over when it is full.
    pub fn entry(&mut self, job: EntryJob, out: &mut dyn Write) -> io::Result<()> {
        self.batch_data += job.data_len;
        self.batch.push(Job::Entry(Box::new(job)));
        self.maybe_hand_over(out)
    }

    /// Queue lines already rendered.
    pub fn bytes(&mut self, bytes: Vec<u8>, out: &mut dyn Write) -> io::Result<()> {
        self.batch_data += bytes.len();
        self.batch.push(Job::Bytes(bytes));
        self.maybe_hand_over(out)
    }

    fn maybe_hand_over(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if self.batch_data < BATCH_DATA && self.batch.len() < BATCH_JOBS {
            return Ok(());
        }
        self.hand_over()?;
        // Write what is done so far (never waits).
        while let Ok(r) = self.from_worker.try_recv() {
            out.write_all(&r?)?;
        }
        Ok(())
    }

    fn hand_over(&mut self) -> io::Result<()> {
        let batch = std::mem::take(&mut self.batch);
        self.batch_data = 0;
        if batch.is_empty() {
            return Ok(());
        }
        match &self.to_worker {
            Some(tx) => tx
                .send(batch)
                .map_err(|_| io::Error::other("dump: the render thread stopped")),
            None => Ok(()),
        }
    }

    /// Hand over the last batch, then write everything the worker renders, in order.
    pub fn finish(mut self, out: &mut dyn Write) -> io::Result<()> {
        self.hand_over()?;
        self.to_worker = None;
        for r in self.from_worker.iter() {
            out.write_all(&r?)?;
        }
        Ok(())
    }
}
