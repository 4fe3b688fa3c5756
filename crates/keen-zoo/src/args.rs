//! The command-line flags of the zoo's example programs (`--epochs N`, `--quick`, ...): one
//! small parser so every example reads its flags, reports mistakes and prints `--help` the
//! same way, without a dependency for a dozen flags.
//!
//! Declare the flags with their help, parse, then read each flag with its default:
//!
//! ```
//! use keen_zoo::args::Parser;
//!
//! let parser = Parser::new("train")
//!     .value("--epochs", "N", "epochs to train (default 3)")
//!     .switch("--quick", "a few steps on a small subset");
//! let args = parser.parse_from(["--epochs", "5"]).unwrap();
//! assert_eq!(args.number("--epochs").unwrap_or(3), 5);
//! assert!(!args.switch("--quick"));
//!
//! let e = parser.parse_from(["--epoch", "5"]).unwrap_err();
//! assert_eq!(e.to_string(), "unknown argument \"--epoch\"; the known ones are --epochs, --quick, --help");
//! ```

use std::fmt;
use std::str::FromStr;

/// One declared flag.
#[derive(Clone, Debug)]
struct Flag {
    name: &'static str,
    /// The placeholder of its value (`N`, `DIR`), or `None` for a switch.
    value: Option<&'static str>,
    help: String,
}

/// The flags a program takes, with their help (builds the `--help` text).
#[derive(Clone, Debug)]
pub struct Parser {
    program: &'static str,
    flags: Vec<Flag>,
}

/// A mistake on the command line, or a request for help.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgsError {
    /// `-h` or `--help`.
    Help,
    /// A flag the program does not take, with those it does.
    Unknown {
        /// What was given.
        given: String,
        /// The flags the program takes.
        known: Vec<String>,
    },
    /// A flag that takes a value came last.
    MissingValue(String),
    /// A value that does not parse.
    BadValue {
        /// The flag.
        flag: String,
        /// Its value.
        value: String,
    },
}

impl fmt::Display for ArgsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgsError::Help => f.write_str("help requested"),
            ArgsError::Unknown { given, known } => write!(
                f,
                "unknown argument {given:?}; the known ones are {}",
                known.join(", ")
            ),
            ArgsError::MissingValue(flag) => write!(f, "{flag} needs a value"),
            ArgsError::BadValue { flag, value } => {
                write!(f, "{flag} takes a number, got {value:?}")
            }
        }
    }
}

impl std::error::Error for ArgsError {}

impl Parser {
    /// No flags yet but `-h`/`--help`; `program` names it in messages.
    pub fn new(program: &'static str) -> Self {
        Parser {
            program,
            flags: Vec::new(),
        }
    }

    /// A flag followed by a value (`--epochs 5`); `placeholder` names the value in the help.
    pub fn value(
        mut self,
        name: &'static str,
        placeholder: &'static str,
        help: impl Into<String>,
    ) -> Self {
        self.flags.push(Flag {
            name,
            value: Some(placeholder),
            help: help.into(),
        });
        self
    }

    /// A flag on its own (`--quick`).
    pub fn switch(mut self, name: &'static str, help: impl Into<String>) -> Self {
        self.flags.push(Flag {
            name,
            value: None,
            help: help.into(),
        });
        self
    }

    /// The `--help` text: a usage line, then one line per flag.
    pub fn usage(&self) -> String {
        let spelled = |f: &Flag| match f.value {
            Some(v) => format!("{} {v}", f.name),
            None => f.name.to_string(),
        };
        let synopsis: Vec<String> = self
            .flags
            .iter()
            .map(|f| format!("[{}]", spelled(f)))
            .collect();
        let width = self
            .flags
            .iter()
            .map(|f| spelled(f).len())
            .max()
            .unwrap_or(0);
        let mut text = format!("usage: {} {}", self.program, synopsis.join(" "));
        for f in &self.flags {
            text.push_str(&format!("\n  {:width$}  {}", spelled(f), f.help));
        }
        text
    }

    /// Parses `args` (without the program name).
    ///
    /// # Errors
    /// An unknown flag, a missing value, or `-h`/`--help` ([`ArgsError::Help`]).
    pub fn parse_from<I, S>(&self, args: I) -> Result<Args, ArgsError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut given = Vec::new();
        let mut it = args.into_iter().map(Into::into);
        while let Some(arg) = it.next() {
            if arg == "-h" || arg == "--help" {
                return Err(ArgsError::Help);
            }
            let Some(flag) = self.flags.iter().find(|f| f.name == arg) else {
                let mut known: Vec<String> =
                    self.flags.iter().map(|f| f.name.to_string()).collect();
                known.push("--help".into());
                return Err(ArgsError::Unknown { given: arg, known });
            };
            let value = match flag.value {
                Some(_) => Some(
                    it.next()
                        .ok_or_else(|| ArgsError::MissingValue(arg.clone()))?,
                ),
                None => None,
            };
            given.push((flag.name, value));
        }
        Ok(Args {
            program: self.program,
            usage: self.usage(),
            names: self.flags.iter().map(|f| f.name).collect(),
            given,
        })
    }

    /// Parses the process' arguments. `--help` prints the usage and exits with status 0; a
    /// mistake prints what is wrong and the usage, and exits with status 2.
    pub fn parse(&self) -> Args {
        match self.parse_from(std::env::args().skip(1)) {
            Ok(args) => args,
            Err(ArgsError::Help) => {
                println!("{}", self.usage());
                std::process::exit(0)
            }
            Err(e) => exit_with(self.program, &e.to_string(), &self.usage()),
        }
    }
}

fn exit_with(program: &str, message: &str, usage: &str) -> ! {
    eprintln!("{program}: {message}\n{usage}");
    std::process::exit(2)
}

/// The parsed flags. Each getter takes a declared flag's name (anything else is a bug and
/// panics); a flag given twice takes its last value.
#[derive(Clone, Debug)]
pub struct Args {
    program: &'static str,
    usage: String,
    names: Vec<&'static str>,
    given: Vec<(&'static str, Option<String>)>,
}

impl Args {
    #[track_caller]
    fn last(&self, name: &str) -> Option<&(&'static str, Option<String>)> {
        assert!(
            self.names.contains(&name),
            "args: `{name}` is not a declared flag of {}; declared: {}",
            self.program,
            self.names.join(", ")
        );
        self.given.iter().rev().find(|(n, _)| *n == name)
    }

    /// Whether `name` was given.
    #[track_caller]
    pub fn switch(&self, name: &str) -> bool {
        self.last(name).is_some()
    }

    /// The value of `name`, if given.
    #[track_caller]
    pub fn string(&self, name: &str) -> Option<String> {
        self.last(name).and_then(|(_, v)| v.clone())
    }

    /// The value of `name` parsed as a number, if given.
    ///
    /// # Errors
    /// [`ArgsError::BadValue`] when it does not parse.
    #[track_caller]
    pub fn try_number<T: FromStr>(&self, name: &str) -> Result<Option<T>, ArgsError> {
        self.string(name)
            .map(|v| {
                v.parse().map_err(|_| ArgsError::BadValue {
                    flag: name.to_string(),
                    value: v,
                })
            })
            .transpose()
    }

    /// [`try_number`](Self::try_number), exiting as [`Parser::parse`] does when the value
    /// does not parse.
    #[track_caller]
    pub fn number<T: FromStr>(&self, name: &str) -> Option<T> {
        self.try_number(name)
            .unwrap_or_else(|e| self.fail(&e.to_string()))
    }

    /// Prints `message` (a value the program cannot use) and the usage, and exits with
    /// status 2, as for any other command-line mistake.
    pub fn fail(&self, message: &str) -> ! {
        exit_with(self.program, message, &self.usage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parser() -> Parser {
        Parser::new("demo")
            .value("--epochs", "N", "epochs (default 3)")
            .value("--out", "DIR", "output folder")
            .switch("--quick", "a smoke run")
    }

    #[test]
    fn values_switches_and_repeats() {
        let a = parser()
            .parse_from(["--quick", "--epochs", "4", "--out", "x", "--epochs", "7"])
            .unwrap();
        assert!(a.switch("--quick"));
        assert_eq!(a.number::<usize>("--epochs"), Some(7));
        assert_eq!(a.string("--out").as_deref(), Some("x"));
        let none = parser().parse_from(Vec::<String>::new()).unwrap();
        assert!(!none.switch("--quick"));
        assert_eq!(none.number::<u64>("--epochs"), None);
    }

    #[test]
    fn mistakes_are_clear_errors() {
        let p = parser();
        assert_eq!(p.parse_from(["-h"]).unwrap_err(), ArgsError::Help);
        assert_eq!(
            p.parse_from(["--epochs", "1", "--help"]).unwrap_err(),
            ArgsError::Help
        );
        assert_eq!(
            p.parse_from(["--out"]).unwrap_err().to_string(),
            "--out needs a value"
        );
        assert_eq!(
            p.parse_from(["--fast"]).unwrap_err().to_string(),
            "unknown argument \"--fast\"; the known ones are --epochs, --out, --quick, --help"
        );
        let a = p.parse_from(["--epochs", "three"]).unwrap();
        assert_eq!(
            a.try_number::<usize>("--epochs").unwrap_err().to_string(),
            "--epochs takes a number, got \"three\""
        );
    }

    #[test]
    fn usage_lists_every_flag() {
        assert_eq!(
            parser().usage(),
            "usage: demo [--epochs N] [--out DIR] [--quick]\n\
             \x20 --epochs N  epochs (default 3)\n\
             \x20 --out DIR   output folder\n\
             \x20 --quick     a smoke run"
        );
    }

    #[test]
    #[should_panic(expected = "args: `--seed` is not a declared flag of demo")]
    fn undeclared_names_are_a_bug() {
        parser().parse_from(["--quick"]).unwrap().switch("--seed");
    }
}
