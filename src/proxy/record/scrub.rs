//! Personal data out, relations kept: names, IBANs, account numbers, purposes, counterparts,
//! custom category names and e-mail addresses are replaced by made-up values. The same input
//! gets the same replacement within a recording (a counterpart IBAN that is one of the user's
//! own accounts gets that account's made-up IBAN), and replacements are numbered in the order
//! the recording is written (users, then records by id), never by the values themselves, so a
//! replacement tells nothing about what it replaced and the same session gives the same file.

use std::collections::BTreeMap;

use crate::sim::seed::tables::iban;

/// The bank code of the made-up IBANs of the users' own accounts, and of counterparts.
const OWN_BLZ: &str = "99999999";
const OTHER_BLZ: &str = "99999998";

/// One kind of replacement: input -> its made-up value.
#[derive(Debug, Default)]
struct Table {
    seen: BTreeMap<String, String>,
}

impl Table {
    fn get_or(&mut self, input: &str, make: impl FnOnce(usize) -> String) -> String {
        let n = self.seen.len() + 1;
        self.seen
            .entry(input.to_string())
            .or_insert_with(|| make(n))
            .clone()
    }
}

/// The replacements of one recording.
#[derive(Debug, Default)]
pub(crate) struct Scrubber {
    numbers: Table,
    ibans: Table,
    purposes: Table,
    counterparts: Table,
    account_names: Table,
    categories: Table,
    emails: Table,
}

impl Scrubber {
    /// An own account's number and IBAN: a made-up 10-digit number and the IBAN of it (valid
    /// check digits), so the two still belong together.
    pub fn account(
        &mut self,
        number: Option<&str>,
        own_iban: Option<&str>,
        id: u64,
    ) -> (String, String) {
        let key = number
            .map(str::to_string)
            .or_else(|| own_iban.map(str::to_string))
            .unwrap_or_else(|| format!("account {id}"));
        let number = self
            .numbers
            .get_or(&key, |n| format!("{}", 9_000_000_000u64 + n as u64));
        let made = iban(OWN_BLZ, &number);
        let iban = match own_iban {
            Some(original) => self.ibans.get_or(original, |_| made.clone()),
            None => made,
        };
        (number, iban)
    }

    /// A counterpart's IBAN (an own account's, when it is one of them).
    pub fn iban(&mut self, original: &str) -> String {
        self.ibans
            .get_or(original, |n| iban(OTHER_BLZ, &format!("{:010}", n)))
    }

    pub fn purpose(&mut self, original: &str) -> String {
        if original.trim().is_empty() {
            return String::new();
        }
        self.purposes.get_or(original, |n| format!("Purpose {n}"))
    }

    pub fn counterpart(&mut self, original: &str) -> String {
        self.counterparts
            .get_or(original, |n| format!("Counterpart {n}"))
    }

    /// An account's name: its type and a number (`Checking 2`).
    pub fn account_name(&mut self, original: &str, kind: &str) -> String {
        self.account_names
            .get_or(&format!("{kind}\0{original}"), |n| format!("{kind} {n}"))
    }

    /// A category of the user's own (finAPI's own categories keep their names).
    pub fn custom_category(&mut self, original: &str) -> String {
        self.categories
            .get_or(original, |n| format!("Category {n}"))
    }

    pub fn email(&mut self, original: &str) -> String {
        self.emails.get_or(&original.to_lowercase(), |n| {
            format!("user-{n}@example.com")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_input_gets_the_same_made_up_value_and_own_ibans_stay_own() {
        let mut s = Scrubber::default();
        let (number, own) = s.account(Some("1234567"), Some("DE89370400440532013000"), 4);
        assert_eq!(number, "9000000001");
        assert!(own.starts_with("DE") && own.contains(OWN_BLZ), "{own}");
        // A transfer to that account names the same made-up IBAN.
        assert_eq!(s.iban("DE89370400440532013000"), own);
        let other = s.iban("DE02120300000000202051");
        assert_ne!(other, own);
        assert_eq!(s.iban("DE02120300000000202051"), other);
        assert_eq!(s.purpose("Miete Anna Muster"), "Purpose 1");
        assert_eq!(s.purpose("Strom"), "Purpose 2");
        assert_eq!(s.purpose("Miete Anna Muster"), "Purpose 1");
        assert_eq!(s.email("Anna@Example.org"), s.email("anna@example.org"));
        assert_eq!(s.account_name("Annas Giro", "Checking"), "Checking 1");
    }
}
