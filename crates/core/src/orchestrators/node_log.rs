//! The end of a node's log, as the run's output and the run page show it: never the whole log,
//! which can be larger than the server's memory.

/// One node's log: its last bytes, and how long the whole log is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeLog {
    pub text: String,
    pub total_bytes: u64,
}

impl NodeLog {
    /// The bytes before `text` that were not read.
    pub fn dropped_bytes(&self) -> u64 {
        self.total_bytes.saturating_sub(self.text.len() as u64)
    }
}

/// Keeps the last `max` bytes of a log read front to back (Argo Server streams it whole).
#[derive(Debug)]
pub(crate) struct TailBuffer {
    text: String,
    max: usize,
    total: u64,
}

impl TailBuffer {
    pub(crate) fn new(max: u64) -> Self {
        Self {
            text: String::new(),
            max: usize::try_from(max).unwrap_or(usize::MAX),
            total: 0,
        }
    }

    pub(crate) fn push(&mut self, piece: &str) {
        self.total += piece.len() as u64;
        self.text.push_str(piece);
        // Trim only when twice over, so a long log costs amortised O(1) per byte.
        if self.text.len() > self.max.saturating_mul(2) {
            self.trim();
        }
    }

    fn trim(&mut self) {
        let mut cut = self.text.len().saturating_sub(self.max);
        while !self.text.is_char_boundary(cut) {
            cut += 1;
        }
        self.text.drain(..cut);
    }

    pub(crate) fn finish(mut self) -> NodeLog {
        self.trim();
        NodeLog {
            text: self.text,
            total_bytes: self.total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tail_buffer_keeps_the_last_bytes_and_counts_them_all() {
        let mut tail = TailBuffer::new(5);
        for piece in ["abc\n", "déf\n", "ghi\n"] {
            tail.push(piece);
        }
        let log = tail.finish();
        assert_eq!(log.text, "\nghi\n");
        assert_eq!(log.total_bytes, 13);
        assert_eq!(log.dropped_bytes(), 8);
    }
}
