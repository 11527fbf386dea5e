//! Every `unsafe` block of svckit-windows lives here, each with the reason it is sound.
//!
//! It owns the Win32 calls the windows-service crate does not wrap. It must stay small.
#![allow(unsafe_code)]

use std::io;

use windows_sys::Win32::System::SystemInformation::{GlobalMemoryStatusEx, MEMORYSTATUSEX};

/// [GlobalMemoryStatusEx](https://learn.microsoft.com/en-us/windows/win32/api/sysinfoapi/nf-sysinfoapi-globalmemorystatusex).
pub(crate) fn global_memory_status() -> io::Result<MEMORYSTATUSEX> {
    // SAFETY: MEMORYSTATUSEX is plain data; all-zero is a valid value.
    let mut status: MEMORYSTATUSEX = unsafe { std::mem::zeroed() };
    status.dwLength = std::mem::size_of::<MEMORYSTATUSEX>() as u32;
    // SAFETY: `status` is a valid, writable MEMORYSTATUSEX whose dwLength is set, as the call
    // requires; the pointer does not outlive the call.
    if unsafe { GlobalMemoryStatusEx(&mut status) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(status)
}

use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle, RawHandle};

use windows_sys::Win32::{
    Foundation::{HANDLE, INVALID_HANDLE_VALUE},
    System::{
        Diagnostics::ToolHelp::{
            CreateToolhelp32Snapshot, TH32CS_SNAPTHREAD, THREADENTRY32, Thread32First, Thread32Next,
        },
        JobObjects::{
            AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
            JOBOBJECT_EXTENDED_LIMIT_INFORMATION, JobObjectExtendedLimitInformation,
            SetInformationJobObject, TerminateJobObject,
        },
        Threading::{OpenThread, ResumeThread, THREAD_SUSPEND_RESUME},
    },
};

/// A handle a call returned, owned; an error when the call failed (null or
/// INVALID_HANDLE_VALUE).
fn owned(handle: HANDLE) -> io::Result<OwnedHandle> {
    if handle.is_null() || handle == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the handle was just returned by a successful call and is owned by no one else.
    Ok(unsafe { OwnedHandle::from_raw_handle(handle as RawHandle) })
}

/// A new Job object whose processes are all killed when its last handle closes
/// (JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE): nothing of a service outlives its host.
pub(crate) fn job_killed_on_close() -> io::Result<OwnedHandle> {
    // SAFETY: both pointers may be null (default security, no name).
    let job = owned(unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) })?;
    // SAFETY: the structure is plain data; all-zero is a valid value.
    let mut limits: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    // SAFETY: `job` is a valid job handle; the pointer and length describe `limits`, which
    // outlives the call.
    let set = unsafe {
        SetInformationJobObject(
            job.as_raw_handle() as HANDLE,
            JobObjectExtendedLimitInformation,
            (&limits as *const JOBOBJECT_EXTENDED_LIMIT_INFORMATION).cast(),
            std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
        )
    };
    if set == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(job)
}

/// Puts the process `process` into `job`.
pub(crate) fn assign_to_job(job: &OwnedHandle, process: RawHandle) -> io::Result<()> {
    // SAFETY: both are valid handles for the duration of the call (the caller owns them).
    if unsafe { AssignProcessToJobObject(job.as_raw_handle() as HANDLE, process as HANDLE) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Ends every process of `job` with `code`.
pub(crate) fn terminate_job(job: &OwnedHandle, code: u32) -> io::Result<()> {
    // SAFETY: `job` is a valid job handle.
    if unsafe { TerminateJobObject(job.as_raw_handle() as HANDLE, code) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Resumes every thread of process `pid` (created suspended, so it runs only once it is in
/// its job: nothing it starts can escape it).
pub(crate) fn resume_process(pid: u32) -> io::Result<()> {
    match each_thread(&[pid], Threads::Resume)? {
        0 => Err(io::Error::other(format!(
            "no thread of process {pid} to resume"
        ))),
        _ => Ok(()),
    }
}

/// What [`each_thread`] does to a thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Threads {
    /// SuspendThread.
    Suspend,
    /// ResumeThread.
    Resume,
}

/// Suspends or resumes every thread of the processes `pids`; the number of threads.
pub(crate) fn each_thread(pids: &[u32], what: Threads) -> io::Result<usize> {
    use windows_sys::Win32::System::Threading::SuspendThread;
    // SAFETY: a thread snapshot of the system; the flags and pid are plain values.
    let snapshot = owned(unsafe { CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0) })?;
    // SAFETY: plain data; all-zero is valid, and dwSize is set as the calls require.
    let mut entry: THREADENTRY32 = unsafe { std::mem::zeroed() };
    entry.dwSize = std::mem::size_of::<THREADENTRY32>() as u32;
    let raw = snapshot.as_raw_handle() as HANDLE;
    // SAFETY: `raw` is the live snapshot and `entry` a writable THREADENTRY32 with its size.
    let mut more = unsafe { Thread32First(raw, &mut entry) } != 0;
    let mut done = 0;
    while more {
        if pids.contains(&entry.th32OwnerProcessID) {
            // SAFETY: plain values; a failure is a null handle, checked by `owned`.
            let thread =
                owned(unsafe { OpenThread(THREAD_SUSPEND_RESUME, 0, entry.th32ThreadID) })?;
            let handle = thread.as_raw_handle() as HANDLE;
            let previous = match what {
                // SAFETY: `handle` is a valid thread handle with THREAD_SUSPEND_RESUME access.
                Threads::Suspend => unsafe { SuspendThread(handle) },
                // SAFETY: as above.
                Threads::Resume => unsafe { ResumeThread(handle) },
            };
            if previous == u32::MAX {
                return Err(io::Error::last_os_error());
            }
            done += 1;
        }
        // SAFETY: as for Thread32First.
        more = unsafe { Thread32Next(raw, &mut entry) } != 0;
    }
    Ok(done)
}

/// The host's own console control handler: Ctrl-C and Ctrl-Break are for the program (the
/// host stops on the SCM's Stop); every other event goes on to the default handler.
unsafe extern "system" fn ignore_interrupts(event: u32) -> windows_sys::Win32::Foundation::BOOL {
    use windows_sys::Win32::System::Console::{CTRL_BREAK_EVENT, CTRL_C_EVENT};
    (event == CTRL_C_EVENT || event == CTRL_BREAK_EVENT) as _
}

/// Gives the calling process a console of its own (a service has none; one inherited from a
/// terminal is left first, so an interrupt reaches nothing but the service's processes), and
/// a handler that keeps the process itself alive through the Ctrl-C it sends there. The
/// programs it starts share the console, so Ctrl-C reaches all of them.
pub(crate) fn own_console() -> io::Result<()> {
    use windows_sys::Win32::System::Console::{AllocConsole, FreeConsole, SetConsoleCtrlHandler};
    // SAFETY: no arguments; failing only means there was no console to leave.
    unsafe { FreeConsole() };
    // SAFETY: no arguments.
    if unsafe { AllocConsole() } == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the handler is a plain function that lives as long as the program.
    if unsafe { SetConsoleCtrlHandler(Some(ignore_interrupts), 1) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sends CTRL_C_EVENT to every process of the calling process's console (group 0): a console
/// program's Ctrl-C, its graceful stop. The caller's own handler keeps it alive.
pub(crate) fn console_interrupt() -> io::Result<()> {
    use windows_sys::Win32::System::Console::{CTRL_C_EVENT, GenerateConsoleCtrlEvent};
    // SAFETY: plain values.
    if unsafe { GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The ids of the processes in `job` now (up to 4096 of them).
pub(crate) fn job_processes(job: &OwnedHandle) -> io::Result<Vec<u32>> {
    use windows_sys::Win32::System::JobObjects::{
        JobObjectBasicProcessIdList, QueryInformationJobObject,
    };
    /// JOBOBJECT_BASIC_PROCESS_ID_LIST with room for the ids.
    #[repr(C)]
    struct List {
        assigned: u32,
        listed: u32,
        ids: [usize; 4096],
    }
    let mut list = Box::new(List {
        assigned: 0,
        listed: 0,
        ids: [0; 4096],
    });
    // SAFETY: `job` is a valid job handle; the pointer and length describe `list`, laid out
    // as JOBOBJECT_BASIC_PROCESS_ID_LIST, which outlives the call; the length pointer may be
    // null.
    let ok = unsafe {
        QueryInformationJobObject(
            job.as_raw_handle() as HANDLE,
            JobObjectBasicProcessIdList,
            (&mut *list as *mut List).cast(),
            std::mem::size_of::<List>() as u32,
            std::ptr::null_mut(),
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    let listed = (list.listed as usize).min(list.ids.len());
    Ok(list.ids[..listed].iter().map(|&id| id as u32).collect())
}

/// Posts WM_CLOSE to every top-level window of the processes `pids`: a windowed program's
/// graceful stop. The number of windows it was posted to.
pub(crate) fn close_windows(pids: &[u32]) -> usize {
    use windows_sys::Win32::{
        Foundation::{HWND, LPARAM},
        UI::WindowsAndMessaging::{EnumWindows, GetWindowThreadProcessId, PostMessageW, WM_CLOSE},
    };
    struct Search<'a> {
        pids: &'a [u32],
        closed: usize,
    }
    unsafe extern "system" fn each(window: HWND, search: LPARAM) -> i32 {
        // SAFETY: `search` is the `Search` EnumWindows was given below, alive and not
        // otherwise borrowed for the whole enumeration, which runs on this thread.
        let search = unsafe { &mut *(search as *mut Search<'_>) };
        let mut pid = 0;
        // SAFETY: `window` is a window EnumWindows passed; `pid` is writable.
        unsafe { GetWindowThreadProcessId(window, &mut pid) };
        // SAFETY: plain values; a window that went away makes the post fail, harmlessly.
        if search.pids.contains(&pid) && unsafe { PostMessageW(window, WM_CLOSE, 0, 0) } != 0 {
            search.closed += 1;
        }
        1
    }
    let mut search = Search { pids, closed: 0 };
    // SAFETY: the callback reads `search` only during this call, through the pointer passed.
    unsafe { EnumWindows(Some(each), (&mut search as *mut Search<'_>) as LPARAM) };
    search.closed
}

/// Ends process `pid` with `code` and waits (up to `wait`) until it is gone; a process that
/// is already gone (no such pid) is not an error.
pub(crate) fn terminate_process(pid: u32, code: u32, wait: std::time::Duration) -> io::Result<()> {
    use windows_sys::Win32::{
        Foundation::{ERROR_INVALID_PARAMETER, WAIT_OBJECT_0},
        System::Threading::{
            OpenProcess, PROCESS_SYNCHRONIZE, PROCESS_TERMINATE, TerminateProcess,
            WaitForSingleObject,
        },
    };
    // SAFETY: plain values; a failure is a null handle.
    let raw = unsafe { OpenProcess(PROCESS_TERMINATE | PROCESS_SYNCHRONIZE, 0, pid) };
    if raw.is_null() {
        let err = io::Error::last_os_error();
        return match err.raw_os_error() {
            Some(code) if code == ERROR_INVALID_PARAMETER as i32 => Ok(()),
            _ => Err(err),
        };
    }
    let process = owned(raw)?;
    let handle = process.as_raw_handle() as HANDLE;
    // SAFETY: `handle` is a live process handle with PROCESS_TERMINATE access. It may fail
    // for a process that is ending already, which the wait below settles.
    unsafe { TerminateProcess(handle, code) };
    let millis = u32::try_from(wait.as_millis()).unwrap_or(u32::MAX - 1);
    // SAFETY: `handle` is a live process handle with SYNCHRONIZE access.
    match unsafe { WaitForSingleObject(handle, millis) } {
        WAIT_OBJECT_0 => Ok(()),
        _ => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("process {pid} did not end"),
        )),
    }
}

/// Whether process `pid` still runs: it can be opened and has not ended (a wait on it would
/// block). False for a pid no process has.
pub(crate) fn is_alive(pid: u32) -> bool {
    use windows_sys::Win32::{
        Foundation::WAIT_TIMEOUT,
        System::Threading::{OpenProcess, PROCESS_SYNCHRONIZE, WaitForSingleObject},
    };
    // SAFETY: plain values; a failure is a null handle.
    let raw = unsafe { OpenProcess(PROCESS_SYNCHRONIZE, 0, pid) };
    let Ok(process) = owned(raw) else {
        return false;
    };
    // SAFETY: `process` is a live process handle with SYNCHRONIZE access; a zero timeout
    // only polls.
    unsafe { WaitForSingleObject(process.as_raw_handle() as HANDLE, 0) == WAIT_TIMEOUT }
}

/// The identity of an open file: its volume's serial number and its file index
/// (GetFileInformationByHandle), which a rename keeps and a new file of the same name does not.
pub(crate) fn file_identity(file: &std::fs::File) -> io::Result<(u32, u64)> {
    use windows_sys::Win32::Storage::FileSystem::{
        BY_HANDLE_FILE_INFORMATION, GetFileInformationByHandle,
    };
    // SAFETY: BY_HANDLE_FILE_INFORMATION is plain data; all-zero is a valid value.
    let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: the handle is the open file's, alive for the call; `info` is a writable struct of
    // the type the call fills.
    if unsafe { GetFileInformationByHandle(file.as_raw_handle() as HANDLE, &mut info) } == 0 {
        return Err(io::Error::last_os_error());
    }
    let index = (u64::from(info.nFileIndexHigh) << 32) | u64::from(info.nFileIndexLow);
    Ok((info.dwVolumeSerialNumber, index))
}

/// Whether this process's stdout is a pipe whose reading end is closed (PeekNamedPipe says
/// ERROR_BROKEN_PIPE); false for a console, a file, or a pipe still read.
pub(crate) fn stdout_reader_gone() -> bool {
    use windows_sys::Win32::{
        Foundation::ERROR_BROKEN_PIPE,
        System::{
            Console::{GetStdHandle, STD_OUTPUT_HANDLE},
            Pipes::PeekNamedPipe,
        },
    };
    // SAFETY: a plain value; the handle returned is borrowed, never closed here.
    let stdout = unsafe { GetStdHandle(STD_OUTPUT_HANDLE) };
    if stdout.is_null() || stdout == INVALID_HANDLE_VALUE {
        return false;
    }
    // SAFETY: `stdout` is this process's standard output handle; every out-pointer may be
    // null, and no buffer is read into (size 0).
    let peeked = unsafe {
        PeekNamedPipe(
            stdout,
            std::ptr::null_mut(),
            0,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    peeked == 0 && io::Error::last_os_error().raw_os_error() == Some(ERROR_BROKEN_PIPE as i32)
}

/// Writes `message` to the Application event log as an error of `source` (RegisterEventSource
/// with that name, ReportEvent with one string, event id 1).
pub(crate) fn report_error_event(source: &str, message: &str) -> io::Result<()> {
    use windows_sys::Win32::System::EventLog::{
        DeregisterEventSource, EVENTLOG_ERROR_TYPE, RegisterEventSourceW, ReportEventW,
    };
    let wide = |text: &str| -> Vec<u16> { text.encode_utf16().chain([0]).collect() };
    let (source, message) = (wide(source), wide(message));
    // SAFETY: a null server is the local one; `source` is NUL-terminated and outlives the
    // call. A failure is a null handle.
    let log = unsafe { RegisterEventSourceW(std::ptr::null(), source.as_ptr()) };
    if log.is_null() {
        return Err(io::Error::last_os_error());
    }
    let strings = [message.as_ptr()];
    // SAFETY: `log` is the live event source; `strings` holds one pointer to the
    // NUL-terminated `message`, both alive for the call; no SID, no raw data.
    let reported = unsafe {
        ReportEventW(
            log,
            EVENTLOG_ERROR_TYPE,
            0,
            1,
            std::ptr::null_mut(),
            1,
            0,
            strings.as_ptr(),
            std::ptr::null(),
        )
    };
    let result = match reported {
        0 => Err(io::Error::last_os_error()),
        _ => Ok(()),
    };
    // SAFETY: `log` came from RegisterEventSourceW and is not used after this.
    unsafe { DeregisterEventSource(log) };
    result
}

/// Whether this process has no standard error handle (a service started by the SCM has none):
/// what it writes there goes nowhere.
pub(crate) fn stderr_is_nowhere() -> bool {
    use windows_sys::Win32::System::Console::{GetStdHandle, STD_ERROR_HANDLE};
    // SAFETY: a plain value; the handle returned is borrowed, never closed here.
    let stderr = unsafe { GetStdHandle(STD_ERROR_HANDLE) };
    stderr.is_null() || stderr == INVALID_HANDLE_VALUE
}

/// Sends SERVICE_CONTROL_PARAMCHANGE to `service` (the windows-service crate sends only stop,
/// pause, continue and user controls).
pub(crate) fn param_change(service: &windows_service::service::Service) -> io::Result<()> {
    use windows_sys::Win32::System::Services::{
        ControlService, SERVICE_CONTROL_PARAMCHANGE, SERVICE_STATUS,
    };
    // SAFETY: plain data; all-zero is a valid value.
    let mut status: SERVICE_STATUS = unsafe { std::mem::zeroed() };
    // SAFETY: the handle is `service`'s, open for as long as it is borrowed here; `status` is
    // writable and outlives the call.
    if unsafe {
        ControlService(
            service.raw_handle(),
            SERVICE_CONTROL_PARAMCHANGE,
            &mut status,
        )
    } == 0
    {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sets `service`'s start type (SERVICE_AUTO_START or SERVICE_DEMAND_START), nothing else of
/// its configuration: `service` opened with `ServiceAccess::CHANGE_CONFIG`.
pub(crate) fn set_start_type(
    service: &windows_service::service::Service,
    start_type: u32,
) -> io::Result<()> {
    use windows_sys::Win32::System::Services::{ChangeServiceConfigW, SERVICE_NO_CHANGE};
    // SAFETY: the handle is `service`'s, open for as long as it is borrowed here; every other
    // setting is SERVICE_NO_CHANGE or a null pointer, which ChangeServiceConfigW reads as
    // "unchanged".
    let changed = unsafe {
        ChangeServiceConfigW(
            service.raw_handle(),
            SERVICE_NO_CHANGE,
            start_type,
            SERVICE_NO_CHANGE,
            std::ptr::null(),
            std::ptr::null(),
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    if changed == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Process `pid`'s CPU time (user and kernel) and working set, bytes; None for a process
/// that cannot be opened (gone, or another user's).
pub(crate) fn process_usage(pid: u32) -> Option<(std::time::Duration, u64)> {
    use windows_sys::Win32::{
        Foundation::FILETIME,
        System::{
            ProcessStatus::{K32GetProcessMemoryInfo, PROCESS_MEMORY_COUNTERS},
            Threading::{GetProcessTimes, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION},
        },
    };
    // SAFETY: plain values; a failure is a null handle.
    let raw = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) };
    let process = owned(raw).ok()?;
    let handle = process.as_raw_handle() as HANDLE;
    let zero = FILETIME {
        dwLowDateTime: 0,
        dwHighDateTime: 0,
    };
    let (mut created, mut exited, mut kernel, mut user) = (zero, zero, zero, zero);
    // SAFETY: `handle` is a live process handle with PROCESS_QUERY_LIMITED_INFORMATION
    // access; the four FILETIMEs are writable and outlive the call.
    if unsafe { GetProcessTimes(handle, &mut created, &mut exited, &mut kernel, &mut user) } == 0 {
        return None;
    }
    let ticks =
        |time: FILETIME| (u64::from(time.dwHighDateTime) << 32) | u64::from(time.dwLowDateTime);
    // FILETIME counts 100 ns.
    let cpu = std::time::Duration::from_nanos((ticks(kernel) + ticks(user)).saturating_mul(100));
    // SAFETY: plain data; all-zero is a valid value.
    let mut counters: PROCESS_MEMORY_COUNTERS = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<PROCESS_MEMORY_COUNTERS>() as u32;
    // SAFETY: `handle` is a live process handle with PROCESS_QUERY_LIMITED_INFORMATION
    // access (enough since Windows 8.1); `counters` is writable, of the size given.
    let memory = match unsafe { K32GetProcessMemoryInfo(handle, &mut counters, size) } {
        0 => 0,
        _ => counters.WorkingSetSize as u64,
    };
    Some((cpu, memory))
}

/// The standard handle `which` (STD_INPUT_HANDLE, STD_OUTPUT_HANDLE) when it is a console's:
/// its mode, or None (redirected, or no console).
fn console_handle(
    which: windows_sys::Win32::System::Console::STD_HANDLE,
) -> Option<(windows_sys::Win32::Foundation::HANDLE, u32)> {
    use windows_sys::Win32::System::Console::{GetConsoleMode, GetStdHandle};
    // SAFETY: a plain value; the handle returned is borrowed, never closed here.
    let handle = unsafe { GetStdHandle(which) };
    if handle.is_null() || handle == INVALID_HANDLE_VALUE {
        return None;
    }
    let mut mode = 0u32;
    // SAFETY: `handle` is a standard handle of this process; `mode` is a valid out-pointer.
    (unsafe { GetConsoleMode(handle, &mut mode) } != 0).then_some((handle, mode))
}

/// The console modes of stdin and stdout, each when it is a console.
pub(crate) fn console_modes() -> (Option<u32>, Option<u32>) {
    use windows_sys::Win32::System::Console::{STD_INPUT_HANDLE, STD_OUTPUT_HANDLE};
    (
        console_handle(STD_INPUT_HANDLE).map(|(_, mode)| mode),
        console_handle(STD_OUTPUT_HANDLE).map(|(_, mode)| mode),
    )
}

/// Sets the console modes of stdin and stdout (each only when given and a console).
pub(crate) fn set_console_modes(input: Option<u32>, output: Option<u32>) -> io::Result<()> {
    use windows_sys::Win32::System::Console::{
        STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, SetConsoleMode,
    };
    for (which, mode) in [(STD_INPUT_HANDLE, input), (STD_OUTPUT_HANDLE, output)] {
        if let (Some((handle, _)), Some(mode)) = (console_handle(which), mode) {
            // SAFETY: `handle` is a console handle of this process; the mode is a plain value.
            if unsafe { SetConsoleMode(handle, mode) } == 0 {
                return Err(io::Error::last_os_error());
            }
        }
    }
    Ok(())
}

/// The height of the console window stdout shows, when it is a console.
pub(crate) fn console_rows() -> Option<usize> {
    use windows_sys::Win32::System::Console::{
        CONSOLE_SCREEN_BUFFER_INFO, GetConsoleScreenBufferInfo, STD_OUTPUT_HANDLE,
    };
    let (handle, _) = console_handle(STD_OUTPUT_HANDLE)?;
    // SAFETY: plain old data; zeroed is a valid value.
    let mut info: CONSOLE_SCREEN_BUFFER_INFO = unsafe { std::mem::zeroed() };
    // SAFETY: `handle` is this process's console output; `info` is a valid out-pointer.
    if unsafe { GetConsoleScreenBufferInfo(handle, &mut info) } == 0 {
        return None;
    }
    let rows = i32::from(info.srWindow.Bottom) - i32::from(info.srWindow.Top) + 1;
    usize::try_from(rows).ok().filter(|rows| *rows > 0)
}

/// What the console's input held: whether a `q` was pressed among its events (key releases,
/// mouse and focus events only wake a redraw).
pub(crate) fn console_input_quits(wait: std::time::Duration) -> io::Result<Option<bool>> {
    use windows_sys::Win32::{
        Foundation::WAIT_OBJECT_0,
        System::{
            Console::{INPUT_RECORD, KEY_EVENT, ReadConsoleInputW, STD_INPUT_HANDLE},
            Threading::WaitForSingleObject,
        },
    };
    let Some((handle, _)) = console_handle(STD_INPUT_HANDLE) else {
        std::thread::sleep(wait);
        return Ok(None);
    };
    let millis = u32::try_from(wait.as_millis()).unwrap_or(u32::MAX);
    // SAFETY: `handle` is this process's console input, a waitable object.
    if unsafe { WaitForSingleObject(handle, millis) } != WAIT_OBJECT_0 {
        return Ok(None);
    }
    // SAFETY: plain old data; zeroed is a valid value.
    let mut records: [INPUT_RECORD; 16] = unsafe { std::mem::zeroed() };
    let mut read = 0u32;
    // SAFETY: `records` holds 16 records and `read` is a valid out-pointer.
    if unsafe { ReadConsoleInputW(handle, records.as_mut_ptr(), 16, &mut read) } == 0 {
        return Err(io::Error::last_os_error());
    }
    let quits = records[..read as usize].iter().any(|record| {
        if u32::from(record.EventType) != KEY_EVENT {
            return false;
        }
        // SAFETY: EventType says the union holds a key event.
        let key = unsafe { record.Event.KeyEvent };
        // SAFETY: the character is read as its UTF-16 unit, the union's plain data.
        let unit = unsafe { key.uChar.UnicodeChar };
        key.bKeyDown != 0 && matches!(unit, 0x71 | 0x51)
    });
    Ok(Some(quits))
}
