//! The frame rewriting at the byte level, and [`Metered`] under a real tungstenite server fed
//! by hand-made client frames (the budget's arithmetic is tested in `budget.rs`).

use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::*;

const MASK: [u8; 4] = [0x11, 0x22, 0x33, 0x44];
const WAIT: Duration = Duration::from_secs(20);

fn limits(total: usize, untrusted_total: usize, trusted: usize, untrusted: usize) -> BudgetLimits {
    BudgetLimits {
        total,
        untrusted_total,
        per_trusted_origin: trusted,
        per_untrusted_site: untrusted,
    }
}

/// The header of a masked client frame of `len` bytes.
fn header(first: u8, len: u64) -> Vec<u8> {
    let mut out = vec![first];
    match len {
        0..=125 => out.push(0x80 | len as u8),
        126..=0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(0x80 | 127);
            out.extend_from_slice(&len.to_be_bytes());
        }
    }
    out.extend_from_slice(&MASK);
    out
}

/// `payload` masked with [`MASK`] from payload offset `at`.
fn masked(payload: &[u8], at: usize) -> Vec<u8> {
    payload.iter().enumerate().map(|(i, b)| b ^ MASK[(at + i) % 4]).collect()
}

/// A whole masked client frame.
fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = header(first, payload.len() as u64);
    out.extend(masked(payload, 0));
    out
}

// ---- the stream, byte by byte ----

/// Everything `metered` yields, read `chunk` bytes at a time.
async fn read_all(mut metered: Metered<DuplexStream>, chunk: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; chunk];
    loop {
        let n = metered.read(&mut buf).await?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(buf.get(..n).expect("n fits"));
    }
}

/// `input` through a fresh [`Metered`] (as its prefix, the socket then closed).
async fn rewrite(input: Vec<u8>, max: usize, chunk: usize) -> (io::Result<Vec<u8>>, Tickets) {
    let budget = MemoryBudget::new(limits(1 << 20, 1 << 20, 1 << 20, 1 << 20));
    let (_, server) = tokio::io::duplex(16);
    let (metered, tickets) = Metered::new(server, input, budget.account("k".into(), true), max);
    (read_all(metered, chunk).await, tickets)
}

#[tokio::test]
async fn accepted_frames_pass_unchanged_and_refused_ones_are_cut() {
    let big = vec![b'x'; 70_000];
    let mut input = frame(0x81, b"hi");
    input.extend(frame(0x81, &big)); // 64-bit length, over the limit of 1000
    input.extend(frame(0x89, b"ping"));
    let (out, tickets) = rewrite(input, 1000, 1).await; // the caller's buffer is one byte
    let mut expected = frame(0x81, b"hi");
    // The first and last 4 KiB (70,000 - 8,192 skipped is a multiple of 4).
    expected.extend(frame(0x82, &big[..2 * SAMPLE]));
    expected.extend(frame(0x89, b"ping"));
    assert_eq!(out.expect("read"), expected);
    assert_eq!(tickets.next().map(|t| t.verdict), Some(Verdict::Accepted));
    let refused = tickets.next().expect("ticket");
    assert_eq!(refused.verdict, Verdict::TooLarge { len: 70_000, limit: 1000 });
    assert!(refused.reservation.is_none());
    assert!(tickets.next().is_none(), "no ticket for a ping");
}

#[tokio::test]
async fn later_fragments_of_a_refused_message_are_emptied() {
    let mut input = frame(0x01, b"abc"); // text, not final
    input.extend(frame(0x00, &[b'd'; 200])); // over the limit of 100: cut to 200 (< SAMPLE)
    input.extend(frame(0x00, b"efg"));
    input.extend(frame(0x80, b"hij"));
    let (out, tickets) = rewrite(input, 100, 4096).await;
    let mut expected = frame(0x01, b"abc");
    expected.extend(frame(0x00, &[b'd'; 200]));
    expected.extend(header(0x00, 0));
    expected.extend(header(0x80, 0));
    assert_eq!(out.expect("read"), expected);
    let ticket = tickets.next().expect("ticket");
    assert_eq!(ticket.verdict, Verdict::TooLarge { len: 209, limit: 100 });
    assert_eq!(ticket.reservation.map(|r| r.bytes()), Some(3), "the first fragment is held");
}

#[tokio::test]
async fn long_frames_go_on_in_pieces_that_keep_the_mask() {
    let long: Vec<u8> = (0..150_000u32).map(|i| (i % 251) as u8).collect();
    let piece = PIECE as usize;
    let (out, tickets) = rewrite(frame(0x81, &long), 1 << 20, 4096).await;
    let mut expected = header(0x01, PIECE);
    expected.extend(masked(&long[..piece], 0));
    expected.extend(header(0x00, PIECE));
    expected.extend(masked(&long[piece..2 * piece], piece));
    expected.extend(header(0x80, (long.len() - 2 * piece) as u64));
    expected.extend(masked(&long[2 * piece..], 2 * piece));
    assert_eq!(out.expect("read"), expected);
    let ticket = tickets.next().expect("ticket");
    assert_eq!(ticket.verdict, Verdict::Accepted);
    assert_eq!(ticket.reservation.map(|r| r.bytes()), Some(long.len()));
}

#[tokio::test]
async fn protocol_errors_are_invalid_data() {
    let cases: [(&str, Vec<u8>); 5] = [
        ("unmasked", vec![0x81, 0x02, b'h', b'i']),
        ("top length bit", [&[0x82, 0xFF, 0x80][..], &[0; 7], &MASK].concat()),
        ("long ping", header(0x89, 126)),
        ("stray continuation", frame(0x80, b"x")),
        ("reserved opcode", frame(0x83, b"x")),
    ];
    for (name, input) in cases {
        let (out, _) = rewrite(input, 1000, 4096).await;
        let kind = out.map_err(|e| e.kind()).err();
        assert_eq!(kind, Some(io::ErrorKind::InvalidData), "{name}");
    }
}

// ---- under tungstenite ----

/// A tungstenite server over [`Metered`]; the client end takes raw frames.
struct Rig {
    budget: Arc<MemoryBudget>,
    server: WebSocketStream<Metered<DuplexStream>>,
    tickets: Tickets,
    client: DuplexStream,
}

async fn rig(site: usize, max: usize, prefix: Vec<u8>) -> Rig {
    rig_with(site, max, prefix, 64 << 10).await
}

/// A [`Rig`] whose pipe holds at most `pipe` bytes (so the server reads at most that many).
async fn rig_with(site: usize, max: usize, prefix: Vec<u8>, pipe: usize) -> Rig {
    let budget = MemoryBudget::new(limits(1 << 30, 1 << 30, 1 << 30, site));
    let (client, server) = tokio::io::duplex(pipe);
    let account = budget.account("evil.example".into(), true);
    let (metered, tickets) = Metered::new(server, prefix, account, max);
    // tungstenite's default limits (64 MiB messages, 16 MiB frames) stay in force.
    let server = WebSocketStream::from_raw_socket(metered, Role::Server, None).await;
    Rig { budget, server, tickets, client }
}

impl Rig {
    async fn send(&mut self, bytes: &[u8]) {
        self.client.write_all(bytes).await.expect("write");
    }

    async fn next(&mut self) -> Message {
        recv(&mut self.server).await
    }
}

/// The next message the server yields.
async fn recv(server: &mut WebSocketStream<Metered<DuplexStream>>) -> Message {
    let next = tokio::time::timeout(WAIT, server.next()).await.expect("in time");
    next.expect("a message").expect("no error")
}

#[tokio::test]
async fn small_messages_are_accepted_in_order() {
    let mut rig = rig(1000, 1000, frame(0x81, b"first")).await;
    rig.send(&frame(0x82, b"second")).await;
    assert_eq!(rig.next().await, Message::text("first"));
    assert_eq!(rig.next().await, Message::binary(b"second".to_vec()));
    let first = rig.tickets.next().expect("first");
    let second = rig.tickets.next().expect("second");
    assert_eq!((first.verdict, second.verdict), (Verdict::Accepted, Verdict::Accepted));
    assert_eq!(rig.budget.used(), 11, "held until the tickets go");
    drop((first, second));
    assert_eq!(rig.budget.used(), 0);
}

#[tokio::test]
async fn an_oversized_message_is_sampled_and_the_connection_stays_usable() {
    let mut rig = rig(1 << 20, 10_000, Vec::new()).await;
    let text: String = format!("{{\"module\":\"kz.gov.pki.knca.basics\",{}", "a".repeat(20_000));
    rig.send(&frame(0x81, text.as_bytes())).await;
    rig.send(&frame(0x81, b"next")).await;
    let Message::Binary(sample) = rig.next().await else { panic!("a binary sample") };
    let skipped = (text.len() - 2 * SAMPLE) / 4 * 4;
    let mut expected = text.as_bytes()[..SAMPLE].to_vec();
    expected.extend_from_slice(&text.as_bytes()[SAMPLE + skipped..]);
    assert_eq!(sample, expected, "its first 4 KiB and its last bytes, the mask's phase kept");
    assert_eq!(rig.next().await, Message::text("next"));
    let refused = rig.tickets.next().expect("ticket").verdict;
    assert_eq!(refused, Verdict::TooLarge { len: text.len(), limit: 10_000 });
    assert_eq!(rig.tickets.next().map(|t| t.verdict), Some(Verdict::Accepted));
}

#[tokio::test]
async fn a_long_text_split_into_pieces_arrives_whole() {
    let mut rig = rig(1 << 20, 1 << 20, Vec::new()).await;
    let text = "€".repeat(100_000); // 3-byte characters: piece boundaries fall inside them
    let writer = frame(0x81, text.as_bytes());
    let (sent, received) = tokio::join!(rig.client.write_all(&writer), recv(&mut rig.server));
    sent.expect("write");
    assert_eq!(received, Message::text(text));
    assert_eq!(rig.tickets.next().map(|t| t.verdict), Some(Verdict::Accepted));
}

#[tokio::test]
async fn over_budget_while_held_then_accepted_once_released() {
    let mut rig = rig(100, 1000, Vec::new()).await;
    let payload = [b'p'; 60];
    rig.send(&frame(0x81, &payload)).await;
    rig.send(&frame(0x81, &payload)).await;
    assert_eq!(rig.next().await, Message::text("p".repeat(60)));
    assert_eq!(rig.next().await, Message::binary(payload.to_vec()), "the whole of it, < SAMPLE");
    let held = rig.tickets.next().expect("first");
    assert_eq!(held.verdict, Verdict::Accepted);
    assert_eq!(rig.tickets.next().map(|t| t.verdict), Some(Verdict::OverBudget { len: 60 }));
    drop(held);
    rig.send(&frame(0x81, &payload)).await;
    assert_eq!(rig.next().await, Message::text("p".repeat(60)));
    assert_eq!(rig.tickets.next().map(|t| t.verdict), Some(Verdict::Accepted));
}

#[tokio::test]
async fn a_huge_frame_is_skipped_not_buffered() {
    const HUGE: usize = 50_000_000; // over tungstenite's own 16 MiB frame limit
    let Rig { budget, mut server, tickets, mut client } = rig(1 << 20, 1 << 20, Vec::new()).await;
    let writer = tokio::spawn(async move {
        client.write_all(&header(0x81, HUGE as u64)).await?;
        let chunk = masked(&[b'z'; 64 << 10], 0); // 64 KiB is a multiple of the mask's 4
        for _ in 0..HUGE / chunk.len() {
            client.write_all(&chunk).await?;
        }
        client.write_all(&masked(&[b'z'; HUGE % (64 << 10)], 0)).await?;
        client.write_all(&frame(0x81, b"after")).await?;
        io::Result::Ok(client)
    });
    assert_eq!(recv(&mut server).await, Message::binary(vec![b'z'; 2 * SAMPLE]));
    assert_eq!(budget.used(), 0);
    assert_eq!(recv(&mut server).await, Message::text("after"));
    let _client = writer.await.expect("join").expect("written");
    let verdict = tickets.next().map(|t| t.verdict);
    assert_eq!(verdict, Some(Verdict::TooLarge { len: HUGE, limit: 1 << 20 }));
    let after = tickets.next().expect("ticket of \"after\"");
    assert_eq!((after.verdict, budget.used()), (Verdict::Accepted, 5));
}

#[tokio::test]
async fn fragments_accumulate_across_a_ping_read_one_byte_at_a_time() {
    let Rig { budget, mut server, tickets, mut client } = rig_with(100, 1000, Vec::new(), 1).await;
    let long = [b'l'; 300]; // 300 in all: over the site's 100
    let input = [
        frame(0x01, b"hel"),
        frame(0x89, b"ping"),
        frame(0x80, b"lo"),
        frame(0x02, &long[..40]),
        frame(0x00, &long[40..90]),
        frame(0x80, &long[90..]), // a 16-bit length
        frame(0x81, &long[..126]),
    ]
    .concat();
    // The pipe holds one byte: the server reads the frames one byte at a time.
    let writer = tokio::spawn(async move { client.write_all(&input).await.map(|()| client) });
    assert_eq!(recv(&mut server).await, Message::Ping(b"ping".to_vec()));
    assert_eq!(recv(&mut server).await, Message::text("hello"));
    let hello = tickets.next().expect("hello");
    assert_eq!((hello.verdict, budget.used()), (Verdict::Accepted, 5));
    // 40 + 50 fit the site's 100 while "hello" is held; 210 more do not.
    assert_eq!(recv(&mut server).await, Message::binary(long.to_vec()));
    let refused = tickets.next().expect("refused");
    assert_eq!(refused.verdict, Verdict::OverBudget { len: 300 });
    assert_eq!(refused.reservation.as_ref().map(Reservation::bytes), Some(90));
    drop((hello, refused));
    assert_eq!(recv(&mut server).await, Message::binary(long[..126].to_vec()), "126 > 100 again");
    assert_eq!(tickets.next().map(|t| t.verdict), Some(Verdict::OverBudget { len: 126 }));
    assert_eq!(budget.used(), 0);
    let _client = writer.await.expect("join").expect("written");
}
