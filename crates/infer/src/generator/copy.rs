//! Copy-constrained decoding: the answer may only say what its material says.
//!
//! An answer under a [`CopyConstraint`] is a run of segments, each either a *span* (a part of
//! one passage, copied character for character, starting where one of the passage's clauses
//! starts, so never in the middle of a word, and never one already said) or a *joiner* (one of a short list of
//! connectives: "、", "等问题", "。"...), with never two spans side by side: two passages'
//! words run together could state what neither says. The model still chooses which parts to
//! copy, where to cut them and how to join them; it can no longer pad a sentence with words
//! of its own ("需要进一步完善") or blend two items into a new claim. Small models, asked to
//! join a few problems into one sentence, do both; given this constraint they write the
//! sentence from the report's own words.
//!
//! The constraint is checked on the text of each candidate token, character by character,
//! as a small nondeterministic automaton (a character such as "，" can end a span or belong
//! to it). Tokens that decode to part of a character (byte-level pieces of rare characters)
//! are never allowed under the constraint: the answer then cuts its span before them.

/// What an answer may be made of. Build it once per call; [`CopyState`] follows the answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyConstraint {
    /// The passages spans are copied from (one item each: a span never crosses two).
    pub passages: Vec<String>,
    /// The connectives allowed between spans, and after the last one (include the stop
    /// character, e.g. "。", so the answer can end).
    pub joiners: Vec<String>,
    /// Once the answer has this many characters, no new span may start: the answer ends
    /// with the clause it is in, and the only mark left is the full stop "。" (0: no limit). Small models asked to join items copy them
    /// all; the limit makes them choose.
    pub max_chars: usize,
    /// The joiners that may close the answer before its full stop ("等问题"), the only
    /// ones allowed past `max_chars` ("和" there would leave the answer nowhere to go).
    pub closers: Vec<String>,
}

impl CopyConstraint {
    pub fn is_empty(&self) -> bool {
        self.passages.is_empty()
    }
}

/// Characters after which a passage's next clause starts.
const CLAUSE_ENDS: &[char] = &['，', '、', '；', '：', '。', ',', ';', ':', '！', '？'];

/// The mark that ends the answer.
const FULL_STOP: char = '。';

/// The shortest span: a single character says nothing.
const MIN_SPAN_CHARS: usize = 2;

/// A joiner that is one punctuation mark.
fn is_mark(joiner: &str) -> bool {
    let mut chars = joiner.chars();
    matches!((chars.next(), chars.next()), (Some(c), None) if CLAUSE_ENDS.contains(&c))
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// Inside a span: the span's text so far (a part of some passage).
    Span(String),
    /// Inside a joiner: its text so far (a prefix of some joiner; complete or not), and
    /// whether it follows another joiner.
    Joiner { text: String, after_joiner: bool },
}

/// Where an answer stands under a [`CopyConstraint`]: every way its text so far can be read
/// as spans and joiners (empty: no way, the text breaks the constraint).
#[derive(Debug, Clone)]
pub struct CopyState<'c> {
    constraint: &'c CopyConstraint,
    /// Every passage from each of its clause starts to its end: a span is a prefix of one.
    from_clause_starts: Vec<&'c str>,
    readings: Vec<Reading>,
    /// Characters of the answer so far.
    chars: usize,
}

/// One way to read the answer so far.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reading {
    /// `None` stands for the start: no segment yet.
    last: Option<Segment>,
    /// The spans already ended: a new span may not say one of them again.
    said: Vec<String>,
}

impl<'c> CopyState<'c> {
    pub fn new(constraint: &'c CopyConstraint) -> Self {
        let mut from_clause_starts = Vec::new();
        for p in &constraint.passages {
            let mut at_start = true;
            for (i, c) in p.char_indices() {
                if at_start && !CLAUSE_ENDS.contains(&c) && !c.is_whitespace() {
                    from_clause_starts.push(&p[i..]);
                }
                at_start = CLAUSE_ENDS.contains(&c) || c.is_whitespace();
            }
        }
        Self {
            constraint,
            from_clause_starts,
            readings: vec![Reading {
                last: None,
                said: Vec::new(),
            }],
            chars: 0,
        }
    }

    /// A part of a passage from one of its clause starts, none of whose clauses (those of
    /// the passage it reaches into) a span said before holds: two items may share a clause,
    /// and it is still said once.
    fn is_span(&self, s: &str, said: &[String]) -> bool {
        let reached = s.split(CLAUSE_ENDS).count();
        self.from_clause_starts.iter().any(|p| {
            p.starts_with(s)
                && p.split(CLAUSE_ENDS).take(reached).all(|clause| {
                    !said
                        .iter()
                        .any(|d| d.split(CLAUSE_ENDS).any(|c| c == clause))
                })
        })
    }

    /// True when the answer may end here: after whole clauses, a closer or the full stop.
    pub fn may_end(&self) -> bool {
        self.readings.iter().any(|r| match &r.last {
            None => false,
            Some(Segment::Span(s)) => self.is_whole_span(s),
            Some(Segment::Joiner { text, .. }) => {
                text.ends_with(FULL_STOP) || self.constraint.closers.contains(text)
            }
        })
    }

    fn is_joiner_prefix(&self, s: &str) -> bool {
        self.constraint.joiners.iter().any(|j| j.starts_with(s))
    }

    fn is_closer_prefix(&self, s: &str) -> bool {
        self.constraint.closers.iter().any(|j| j.starts_with(s))
    }

    fn is_joiner(&self, s: &str) -> bool {
        self.constraint.joiners.iter().any(|j| j == s)
    }

    /// A span that may end here: whole clauses of its passage, at least two characters.
    fn is_whole_span(&self, s: &str) -> bool {
        s.chars().count() >= MIN_SPAN_CHARS
            && self.from_clause_starts.iter().any(|p| {
                p.strip_prefix(s)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(CLAUSE_ENDS))
            })
    }

    /// The readings after one more character. The grammar: a span first; after a span that
    /// is whole clauses, a joiner; after a joiner, a span, or one punctuation mark after a
    /// word ("等问题" + "。", "的问题" + "，"); never a joiner first, never two words or
    /// two marks in a row ("问题的问题", "、、").
    fn step(&self, readings: &[Reading], c: char, at: usize) -> Vec<Reading> {
        let mut next: Vec<Reading> = Vec::new();
        let one = c.to_string();
        let may_start = self.constraint.max_chars == 0 || at < self.constraint.max_chars;
        for reading in readings {
            let mut push = |last: Segment, said_now: Option<&String>| {
                let mut said = reading.said.clone();
                said.extend(said_now.cloned());
                let r = Reading {
                    last: Some(last),
                    said,
                };
                if !next.contains(&r) {
                    next.push(r);
                }
            };
            match &reading.last {
                None => {
                    if self.is_span(&one, &reading.said) {
                        push(Segment::Span(one.clone()), None);
                    }
                }
                Some(Segment::Span(s)) => {
                    let longer = format!("{s}{c}");
                    // Past the limit a span may not go on into its passage's next clause.
                    if (may_start || !CLAUSE_ENDS.contains(&c))
                        && self.is_span(&longer, &reading.said)
                    {
                        push(Segment::Span(longer), None);
                    }
                    if self.is_whole_span(s)
                        && self.is_joiner_prefix(&one)
                        && (may_start || c == FULL_STOP || self.is_closer_prefix(&one))
                    {
                        push(
                            Segment::Joiner {
                                text: one.clone(),
                                after_joiner: false,
                            },
                            Some(s),
                        );
                    }
                }
                Some(Segment::Joiner { text, after_joiner }) => {
                    let longer = format!("{text}{c}");
                    if self.is_joiner_prefix(&longer)
                        && (may_start || *after_joiner || self.is_closer_prefix(&longer))
                    {
                        push(
                            Segment::Joiner {
                                text: longer,
                                after_joiner: *after_joiner,
                            },
                            None,
                        );
                    }
                    if self.is_joiner(text) {
                        if may_start && self.is_span(&one, &reading.said) {
                            push(Segment::Span(one.clone()), None);
                        }
                        if !*after_joiner
                            && !is_mark(text)
                            && CLAUSE_ENDS.contains(&c)
                            && self.is_joiner(&one)
                            && (may_start || c == FULL_STOP)
                        {
                            push(
                                Segment::Joiner {
                                    text: one.clone(),
                                    after_joiner: true,
                                },
                                None,
                            );
                        }
                    }
                }
            }
        }
        next
    }

    /// The readings after `text`, or `None` when no reading survives.
    fn after(&self, text: &str) -> Option<Vec<Reading>> {
        if text.contains('\u{FFFD}') {
            return None;
        }
        let mut readings = self.readings.clone();
        for (i, c) in text.chars().enumerate() {
            readings = self.step(&readings, c, self.chars + i);
            if readings.is_empty() {
                return None;
            }
        }
        Some(readings)
    }

    /// True when the answer may go on with `text`.
    pub fn allows(&self, text: &str) -> bool {
        !text.is_empty() && self.after(text).is_some()
    }

    /// Moves past `text`; false (state unchanged) when the constraint does not allow it.
    pub fn advance(&mut self, text: &str) -> bool {
        match self.after(text) {
            Some(r) if !text.is_empty() => {
                self.readings = r;
                self.chars += text.chars().count();
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems() -> CopyConstraint {
        CopyConstraint {
            passages: vec![
                "普法专项经费紧张，宣传资料不够发".into(),
                "法律明白人作用发挥不充分".into(),
            ],
            max_chars: 0,
            closers: vec!["等问题".into()],
            joiners: ["、", "，", "等问题", "的问题", "。"]
                .map(String::from)
                .to_vec(),
        }
    }

    #[test]
    fn spans_joined_by_joiners_are_allowed() {
        let c = problems();
        let mut s = CopyState::new(&c);
        for piece in [
            "普法",
            "专项经费紧张",
            "、",
            "法律明白人",
            "作用发挥不充分",
            "等问题",
            "。",
        ] {
            assert!(s.advance(piece), "{piece} refused");
        }
    }

    #[test]
    fn own_words_and_blends_are_refused() {
        let c = problems();
        let s = CopyState::new(&c);
        assert!(!s.allows("需要进一步完善"));
        // Two passages run together without a joiner.
        assert!(!s.allows("经费紧张法律明白人"));
        // A number no passage has.
        assert!(!s.allows("经费紧张12万元"));
        // A byte-level piece of a character.
        assert!(!s.allows("\u{FFFD}"));
        // A comma inside a passage continues its span; after it the span may go on.
        let mut s = CopyState::new(&c);
        assert!(s.advance("普法专项经费紧张，宣传资料"));
        assert!(s.allows("不够发。"));
        // Spans start where a clause starts, never inside a word.
        let s = CopyState::new(&c);
        assert!(!s.allows("专项经费"));
        assert!(s.allows("宣传资料不够发"));
        // What was said is not said again.
        let mut s = CopyState::new(&c);
        assert!(s.advance("宣传资料不够发、"));
        assert!(!s.allows("宣传资料"));
        assert!(s.allows("法律明白人"));
        assert!(s.may_end() || s.allows("法律明白人"));
        // A clause two items share is said once.
        let twice = CopyConstraint {
            passages: vec!["经费紧张，资料不够".into(), "资料不够".into()],
            ..problems()
        };
        let mut s = CopyState::new(&twice);
        assert!(s.advance("经费紧张，资料不够、"));
        assert!(!s.allows("资料不够"));
        // Nor when a span runs into it from the clause before.
        let twice = CopyConstraint {
            passages: vec!["资料不够".into(), "经费紧张，资料不够".into()],
            ..problems()
        };
        let mut s = CopyState::new(&twice);
        assert!(s.advance("资料不够、"));
        assert!(s.allows("经费紧张"));
        assert!(!s.allows("经费紧张，资料"));
        // Spans end where a clause ends: a cut clause could lose what is wrong.
        let s = CopyState::new(&c);
        assert!(!s.allows("法律明白人作用的问题"));
        assert!(s.allows("普法专项经费紧张的问题，法律明白人"));
        // Never a joiner first, nor two words or two marks in a row.
        assert!(!s.allows("问题"));
        assert!(!s.allows("普法专项经费紧张的问题等问题"));
        assert!(!s.allows("普法专项经费紧张、、"));
    }

    #[test]
    fn past_the_limit_the_answer_ends_its_clause() {
        let c = CopyConstraint {
            max_chars: 8,
            ..problems()
        };
        let mut s = CopyState::new(&c);
        assert!(s.advance("普法专项经费紧张"));
        assert!(s.may_end());
        assert!(!s.allows("，宣传资料"));
        assert!(!s.allows("，法律明白人"));
        assert!(!s.allows("、"));
        assert!(!s.allows("的问题"));
        assert!(s.allows("等问题。"));
    }
}
