//! Chat turns and the chat templates recognised in a GGUF's `tokenizer.chat_template`: ChatML
//! (`<|im_start|>`) and Gemma (`<start_of_turn>`), recognised by their markers rather than
//! executed as Jinja. OWNER: generator.

use anyhow::{bail, Result};

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    /// "system" | "user" | "assistant"
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: "system".into(),
            content: content.into(),
        }
    }
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: "user".into(),
            content: content.into(),
        }
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: "assistant".into(),
            content: content.into(),
        }
    }
}

/// Chat template families recognised in `tokenizer.chat_template`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatTemplate {
    /// `<|im_start|>role\n…<|im_end|>\n` (Qwen).
    ChatMl {
        /// The template adds Qwen's default system prompt when none is given.
        default_qwen_system: bool,
    },
    /// `<start_of_turn>user\n…<end_of_turn>\n<start_of_turn>model\n` (Gemma).
    Gemma,
}

const QWEN_DEFAULT_SYSTEM: &str =
    "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";

impl ChatTemplate {
    /// Recognise a template by its markers.
    pub fn recognise(template: &str) -> Result<ChatTemplate> {
        if template.contains("<|im_start|>") {
            Ok(ChatTemplate::ChatMl {
                default_qwen_system: template.contains(QWEN_DEFAULT_SYSTEM),
            })
        } else if template.contains("<start_of_turn>") {
            Ok(ChatTemplate::Gemma)
        } else {
            let head: String = template.chars().take(80).collect();
            bail!("unknown chat template (neither ChatML `<|im_start|>` nor Gemma `<start_of_turn>`): {head:?}")
        }
    }

    /// Render the conversation, ending with the opening of the assistant's turn.
    pub fn render(&self, messages: &[ChatMessage]) -> Result<String> {
        for m in messages {
            if !matches!(m.role.as_str(), "system" | "user" | "assistant") {
                bail!("unknown chat role `{}` (system, user or assistant)", m.role);
            }
        }
        let mut out = String::new();
        match self {
            ChatTemplate::ChatMl {
                default_qwen_system,
            } => {
                if *default_qwen_system && messages.first().is_none_or(|m| m.role != "system") {
                    out.push_str("<|im_start|>system\n");
                    out.push_str(QWEN_DEFAULT_SYSTEM);
                    out.push_str("<|im_end|>\n");
                }
                for m in messages {
                    out.push_str("<|im_start|>");
                    out.push_str(&m.role);
                    out.push('\n');
                    out.push_str(&m.content);
                    out.push_str("<|im_end|>\n");
                }
                out.push_str("<|im_start|>assistant\n");
            }
            ChatTemplate::Gemma => {
                out.push_str("<bos>");
                let mut system = String::new();
                for m in messages {
                    match m.role.as_str() {
                        "system" => {
                            system.push_str(&m.content);
                            system.push_str("\n\n");
                        }
                        role => {
                            let role = if role == "assistant" { "model" } else { "user" };
                            out.push_str("<start_of_turn>");
                            out.push_str(role);
                            out.push('\n');
                            if role == "user" && !system.is_empty() {
                                out.push_str(&system);
                                system.clear();
                            }
                            out.push_str(&m.content);
                            out.push_str("<end_of_turn>\n");
                        }
                    }
                }
                out.push_str("<start_of_turn>model\n");
            }
        }
        Ok(out)
    }

    pub(crate) fn stop_token_names(&self) -> &'static [&'static str] {
        match self {
            ChatTemplate::ChatMl { .. } => &["<|im_end|>", "<|endoftext|>"],
            ChatTemplate::Gemma => &["<end_of_turn>", "<eos>"],
        }
    }

    pub(crate) fn required_tokens(&self) -> &'static [&'static str] {
        match self {
            ChatTemplate::ChatMl { .. } => &["<|im_start|>", "<|im_end|>"],
            ChatTemplate::Gemma => &["<start_of_turn>", "<end_of_turn>"],
        }
    }
}
