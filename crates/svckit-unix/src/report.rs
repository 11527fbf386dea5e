//! The readiness pipe's wire format: fixed 16-byte records, each written with one write(2), so
//! a record is atomic (below PIPE_BUF) and the launcher never sees half of one.

use std::io::{self, Read, Write};

use crate::{error::Step, pidfile::Refusal};

/// What the daemon side tells the launcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Record {
    /// The daemon's final pid (sent once the last fork is done).
    Pid(i32),
    /// The daemon is ready.
    Ready,
    /// A step failed; the daemon exits right after sending this.
    Failed(Failure),
}

/// A failure in the daemon, in a form that crosses the pipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// A system call failed; `detail` says which one within the step.
    Os { step: Step, detail: u8, errno: i32 },
    /// The PID file is locked by `pid` (0 when it was empty).
    AlreadyRunning { pid: i32 },
    /// The path is not a PID file.
    PidfileRefused(Refusal),
    /// Root could be regained after dropping to `uid`.
    PrivilegesRegainable { uid: u32 },
}

const RECORD_LEN: usize = 16;
const TAG_PID: u8 = 1;
const TAG_READY: u8 = 2;
const TAG_OS: u8 = 3;
const TAG_ALREADY_RUNNING: u8 = 4;
const TAG_REFUSED: u8 = 5;
const TAG_REGAINABLE: u8 = 6;

impl Record {
    fn encode(self) -> [u8; RECORD_LEN] {
        let mut bytes = [0u8; RECORD_LEN];
        let (tag, step, detail, value) = match self {
            Record::Pid(pid) => (TAG_PID, 0, 0, pid),
            Record::Ready => (TAG_READY, 0, 0, 0),
            Record::Failed(Failure::Os {
                step,
                detail,
                errno,
            }) => (TAG_OS, step.number(), detail, errno),
            Record::Failed(Failure::AlreadyRunning { pid }) => (TAG_ALREADY_RUNNING, 0, 0, pid),
            Record::Failed(Failure::PidfileRefused(why)) => {
                let (detail, value) = match why {
                    Refusal::NotRegular => (0, 0),
                    Refusal::NotAPid => (1, 0),
                    Refusal::HardLinked(links) => (2, i32::try_from(links).unwrap_or(i32::MAX)),
                    Refusal::ForeignOwner(uid) => (3, uid as i32),
                };
                (TAG_REFUSED, 0, detail, value)
            }
            Record::Failed(Failure::PrivilegesRegainable { uid }) => {
                (TAG_REGAINABLE, 0, 0, uid as i32)
            }
        };
        bytes[0] = tag;
        bytes[1] = step;
        bytes[2] = detail;
        bytes[4..8].copy_from_slice(&value.to_ne_bytes());
        bytes
    }

    fn decode(bytes: [u8; RECORD_LEN]) -> io::Result<Record> {
        let value = i32::from_ne_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        let bad = || io::Error::new(io::ErrorKind::InvalidData, "malformed readiness record");
        Ok(match bytes[0] {
            TAG_PID => Record::Pid(value),
            TAG_READY => Record::Ready,
            TAG_OS => Record::Failed(Failure::Os {
                step: Step::from_number(bytes[1]).ok_or_else(bad)?,
                detail: bytes[2],
                errno: value,
            }),
            TAG_ALREADY_RUNNING => Record::Failed(Failure::AlreadyRunning { pid: value }),
            TAG_REFUSED => Record::Failed(Failure::PidfileRefused(match bytes[2] {
                0 => Refusal::NotRegular,
                1 => Refusal::NotAPid,
                2 => Refusal::HardLinked(value as u64),
                3 => Refusal::ForeignOwner(value as u32),
                _ => return Err(bad()),
            })),
            TAG_REGAINABLE => Record::Failed(Failure::PrivilegesRegainable { uid: value as u32 }),
            _ => return Err(bad()),
        })
    }

    /// Writes the record with a single write(2).
    pub(crate) fn send(self, pipe: &mut impl Write) -> io::Result<()> {
        let bytes = self.encode();
        let written = pipe.write(&bytes)?;
        if written == RECORD_LEN {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "short readiness write",
            ))
        }
    }

    /// Reads the next record; `None` at end of file (every write end closed).
    pub(crate) fn receive(pipe: &mut impl Read) -> io::Result<Option<Record>> {
        let mut bytes = [0u8; RECORD_LEN];
        let mut filled = 0;
        while filled < RECORD_LEN {
            match pipe.read(&mut bytes[filled..]) {
                Ok(0) if filled == 0 => return Ok(None),
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => filled += n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
        Record::decode(bytes).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let records = [
            Record::Pid(4242),
            Record::Ready,
            Record::Failed(Failure::Os {
                step: Step::PidFile,
                detail: 1,
                errno: 13,
            }),
            Record::Failed(Failure::AlreadyRunning { pid: 77 }),
            Record::Failed(Failure::PidfileRefused(Refusal::NotRegular)),
            Record::Failed(Failure::PidfileRefused(Refusal::NotAPid)),
            Record::Failed(Failure::PidfileRefused(Refusal::HardLinked(3))),
            Record::Failed(Failure::PidfileRefused(Refusal::ForeignOwner(65534))),
            Record::Failed(Failure::PrivilegesRegainable { uid: 65534 }),
        ];
        let mut wire = Vec::new();
        for record in records {
            record.send(&mut wire).unwrap();
        }
        let mut reader = wire.as_slice();
        for record in records {
            assert_eq!(Record::receive(&mut reader).unwrap(), Some(record));
        }
        assert_eq!(Record::receive(&mut reader).unwrap(), None);
    }

    #[test]
    fn a_torn_record_is_an_error_not_eof() {
        let wire = Record::Ready.encode();
        let err = Record::receive(&mut &wire[..5]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}
