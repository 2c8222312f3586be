//! `township-digest themes train`.

use crate::cli::{Globals, ThemesCommand};
use township_digest::exit::Outcome;
use township_digest::settings::Settings;
use township_digest::train;

pub fn command(globals: &Globals, settings: &Settings, cmd: ThemesCommand) -> Outcome {
    let ThemesCommand::Train {
        themes,
        retrain,
        json,
    } = cmd;
    match train::train(
        &globals.store(),
        settings,
        super::prompt_source(None),
        themes,
        retrain,
        json,
    ) {
        Ok(()) => Outcome::Success,
        Err(e) => {
            eprintln!("error: {e:#}");
            Outcome::Fatal
        }
    }
}
