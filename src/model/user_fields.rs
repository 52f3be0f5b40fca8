//! What finAPI accepts as a user id and as a password: the world file is checked against these
//! rules when it loads, and the simulator when a user is created or changes a password.

/// A user id: 1 to 36 characters of `[a-zA-Z0-9-_.+@]`.
pub fn check_user_id(id: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "-_.+@".contains(c);
    if id.is_empty() || id.chars().count() > 36 {
        return Err("a user id has 1 to 36 characters".into());
    }
    if !id.chars().all(ok_char) {
        return Err("a user id may contain only letters, digits and - _ . + @".into());
    }
    Ok(())
}

/// A password: 6 to 128 characters.
pub fn check_password(password: &str) -> Result<(), String> {
    match password.chars().count() {
        6..=128 => Ok(()),
        _ => Err("a password has 6 to 128 characters".into()),
    }
}
