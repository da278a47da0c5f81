//! Which program listens on a local TCP port, for `qoltanba doctor`: on Linux the listening
//! socket's inode from `/proc/net/tcp` and `/proc/net/tcp6`, then the process whose
//! `/proc/<pid>/fd` links to that socket; on Windows `netstat -ano` and `tasklist` (untested
//! here). Also recognises the official NCALayer, the program Qoltanba most often meets on its
//! port. Reads the system only; opens no socket. Like all of `platform`, uses no other module.

use std::path::PathBuf;

/// The process holding a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Its process id.
    pub pid: u32,
    /// Its executable, when it can be read.
    pub exe: Option<PathBuf>,
    /// Its command line (arguments joined by spaces; the image name on Windows).
    pub command_line: String,
}

impl Holder {
    /// Whether this is the official NCALayer: a process named `ncalayer`, or a Java (or any)
    /// process whose command line names NCALayer (`java -jar …/NCALayer/ncalayer.jar`,
    /// `NCALayer.exe`).
    pub fn is_ncalayer(&self) -> bool {
        let exe = self.exe.as_ref().and_then(|p| p.file_name()).map(|n| n.to_string_lossy());
        let named = exe.is_some_and(|name| name.to_ascii_lowercase().starts_with("ncalayer"));
        named || self.command_line.to_ascii_lowercase().contains("ncalayer")
    }

    /// `pid 1234, /usr/bin/java -jar ncalayer.jar`, for messages.
    pub fn describe(&self) -> String {
        let exe = self.exe.as_ref().map(|p| p.display().to_string());
        let what = match (exe, self.command_line.trim()) {
            (Some(exe), "") => exe,
            (Some(exe), line) if line.starts_with(&exe) => line.to_string(),
            (Some(exe), line) => format!("{exe} ({line})"),
            (None, "") => "?".to_string(),
            (None, line) => line.to_string(),
        };
        format!("pid {}, {what}", self.pid)
    }
}

/// The process listening on TCP `port` of this machine, if it can be found (a process of
/// another user usually cannot be).
pub fn holder(port: u16) -> Option<Holder> {
    #[cfg(target_os = "linux")]
    return linux::holder(port);
    #[cfg(windows)]
    return windows::holder(port);
    #[cfg(not(any(target_os = "linux", windows)))]
    {
        let _ = port;
        None
    }
}

/// One line of `/proc/net/tcp` or `/proc/net/tcp6`: `(local port, state, socket inode)`.
/// `  0: 0100007F:34FB 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000 0 12345 …`
pub fn parse_proc_net_line(line: &str) -> Option<(u16, u8, u64)> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let local = fields.get(1)?;
    let (_, port) = local.rsplit_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let state = u8::from_str_radix(fields.get(3)?, 16).ok()?;
    let inode = fields.get(9)?.parse().ok()?;
    Some((port, state, inode))
}

/// The `LISTEN` state in `/proc/net/tcp`.
pub const TCP_LISTEN: u8 = 0x0A;

/// The pid listening on `port` in `netstat -ano` output:
/// `  TCP    127.0.0.1:13579    0.0.0.0:0    LISTENING    4242`.
pub fn parse_netstat(text: &str, port: u16) -> Option<u32> {
    text.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [proto, local, _, state, pid] = fields[..] else { return None };
        let local_port = local.rsplit_once(':')?.1.parse::<u16>().ok()?;
        let listening = proto.eq_ignore_ascii_case("TCP") && state == "LISTENING";
        (listening && local_port == port).then(|| pid.parse().ok()).flatten()
    })
}

#[cfg(target_os = "linux")]
mod linux {
    use super::{parse_proc_net_line, Holder, TCP_LISTEN};
    use std::path::Path;

    pub(super) fn holder(port: u16) -> Option<Holder> {
        let inodes: Vec<u64> = ["/proc/net/tcp", "/proc/net/tcp6"]
            .iter()
            .filter_map(|table| std::fs::read_to_string(table).ok())
            .flat_map(|text| {
                text.lines().skip(1).filter_map(parse_proc_net_line).collect::<Vec<_>>()
            })
            .filter(|&(p, state, inode)| p == port && state == TCP_LISTEN && inode != 0)
            .map(|(_, _, inode)| inode)
            .collect();
        let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
        let pid = processes().into_iter().find(|&pid| holds(pid, &wanted))?;
        Some(describe(pid))
    }

    fn processes() -> Vec<u32> {
        let entries = std::fs::read_dir("/proc").into_iter().flatten().flatten();
        entries.filter_map(|e| e.file_name().to_str()?.parse().ok()).collect()
    }

    fn holds(pid: u32, sockets: &[String]) -> bool {
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).into_iter().flatten().flatten();
        fds.filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .any(|link| sockets.iter().any(|s| Path::new(s) == link))
    }

    fn describe(pid: u32) -> Holder {
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
        let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let parts: Vec<String> = raw
            .split(|&b| b == 0)
            .filter(|part| !part.is_empty())
            .map(|part| String::from_utf8_lossy(part).into_owned())
            .collect();
        Holder { pid, exe, command_line: parts.join(" ") }
    }
}

#[cfg(windows)]
mod windows {
    use super::{parse_netstat, Holder};
    use std::process::Command;

    pub(super) fn holder(port: u16) -> Option<Holder> {
        let out = Command::new("netstat").args(["-ano", "-p", "TCP"]).output().ok()?;
        let pid = parse_netstat(&String::from_utf8_lossy(&out.stdout), port).or_else(|| {
            let out = Command::new("netstat").args(["-ano", "-p", "TCPv6"]).output().ok()?;
            parse_netstat(&String::from_utf8_lossy(&out.stdout), port)
        })?;
        let filter = format!("PID eq {pid}");
        let list = Command::new("tasklist").args(["/FI", &filter, "/FO", "CSV", "/NH"]).output();
        let text =
            list.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
        let image = text.split(',').next().unwrap_or_default().trim_matches('"').to_string();
        Some(Holder { pid, exe: None, command_line: image })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_net_lines_give_port_state_and_inode() {
        let v4 = "   0: 0100007F:34FB 00000000:0000 0A 00000000:00000000 00:00000000 00000000  \
                  1000        0 123456 1 0000000000000000 100 0 0 10 0";
        assert_eq!(parse_proc_net_line(v4), Some((13563, TCP_LISTEN, 123456)));
        let v6 =
            "   1: 00000000000000000000000001000000:350B 00000000000000000000000000000000:0000 \
                  01 00000000:00000000 00:00000000 00000000  1000        0 777 1 0 20 4 30 10 -1";
        assert_eq!(parse_proc_net_line(v6), Some((13579, 1, 777)));
        let header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
        assert_eq!(parse_proc_net_line(header), None);
        assert_eq!(parse_proc_net_line(""), None);
    }

    #[test]
    fn netstat_gives_the_listening_pid() {
        let text = "\nActive Connections\n\n  Proto  Local Address          Foreign Address        State           PID\n  \
                    TCP    127.0.0.1:13579        127.0.0.1:50000        ESTABLISHED     99\n  \
                    TCP    127.0.0.1:13579        0.0.0.0:0              LISTENING       4242\n  \
                    TCP    [::1]:8080             [::]:0                 LISTENING       7\n";
        assert_eq!(parse_netstat(text, 13579), Some(4242));
        assert_eq!(parse_netstat(text, 8080), Some(7));
        assert_eq!(parse_netstat(text, 1), None);
    }

    fn named(exe: Option<&str>, line: &str) -> Holder {
        Holder { pid: 7, exe: exe.map(PathBuf::from), command_line: line.to_string() }
    }

    #[test]
    fn ncalayer_is_recognised_by_name_or_command_line() {
        let java = named(
            Some("/usr/lib/jvm/java-8/bin/java"),
            "java -jar /home/u/.local/share/NCALayer/ncalayer.jar",
        );
        assert!(java.is_ncalayer());
        assert!(named(Some("/opt/ncalayer/ncalayer"), "").is_ncalayer());
        assert!(named(None, "NCALayer.exe").is_ncalayer());
        assert!(!named(Some("/usr/bin/python3"), "python3 -m http.server 13579").is_ncalayer());
        assert!(!named(Some("/usr/bin/java"), "java -jar other.jar").is_ncalayer());
    }

    #[test]
    fn holders_are_described_with_pid_and_program() {
        assert_eq!(named(Some("/usr/bin/nc"), "").describe(), "pid 7, /usr/bin/nc");
        assert_eq!(
            named(Some("/usr/bin/nc"), "/usr/bin/nc -l 13579").describe(),
            "pid 7, /usr/bin/nc -l 13579"
        );
        assert_eq!(
            named(Some("/usr/bin/python3.12"), "python3 -m x").describe(),
            "pid 7, /usr/bin/python3.12 (python3 -m x)"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_is_found_holding_its_listener() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let found = holder(port).expect("the holder is found");
        assert_eq!(found.pid, std::process::id());
        assert_eq!(found.exe, std::env::current_exe().ok());
    }
}
