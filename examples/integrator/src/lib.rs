//! A tiny app that talks to finAPI the way the documentation asks: the mandator admin client
//! only for Mandator Administration, an app client for client services (creating users, user
//! logins), and a user's own token for that user's data.
//!
//! [`FinapiApp::accounts_with_admin_token`] is a deliberate bug (the admin token sent to a user
//! service); the tests show the mock's journal catching it.

use serde_json::Value;

/// A client id and secret.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    pub id: String,
    pub secret: String,
}

impl ClientCredentials {
    pub fn new(id: &str, secret: &str) -> ClientCredentials {
        ClientCredentials {
            id: id.into(),
            secret: secret.into(),
        }
    }
}

/// Where finAPI is and which clients the app holds.
#[derive(Debug, Clone)]
pub struct FinapiConfig {
    pub base_url: String,
    pub app_client: ClientCredentials,
    pub admin_client: ClientCredentials,
}

/// Whatever went wrong talking to finAPI.
#[derive(Debug)]
pub enum AppError {
    Http(reqwest::Error),
    /// finAPI answered with an error status.
    Status(u16, String),
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppError::Http(e) => write!(f, "cannot reach finAPI: {e}"),
            AppError::Status(s, body) => write!(f, "finAPI answered {s}: {body}"),
        }
    }
}

impl std::error::Error for AppError {}

impl From<reqwest::Error> for AppError {
    fn from(e: reqwest::Error) -> Self {
        AppError::Http(e)
    }
}

/// The app's finAPI client.
pub struct FinapiApp {
    http: reqwest::Client,
    config: FinapiConfig,
}

impl FinapiApp {
    pub fn new(config: FinapiConfig) -> FinapiApp {
        FinapiApp {
            http: reqwest::Client::new(),
            config,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    async fn json(response: reqwest::Response) -> Result<Value, AppError> {
        let status = response.status().as_u16();
        let text = response.text().await?;
        if !(200..300).contains(&status) {
            return Err(AppError::Status(status, text));
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn token(&self, form: &[(&str, &str)]) -> Result<String, AppError> {
        let answer = self
            .http
            .post(self.url("/api/v2/oauth/token"))
            .form(form)
            .send()
            .await?;
        let body = Self::json(answer).await?;
        Ok(body["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    async fn client_token(&self, client: &ClientCredentials) -> Result<String, AppError> {
        self.token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client.id),
            ("client_secret", &client.secret),
        ])
        .await
    }

    /// A user's token, through the app client (the admin client never logs users in).
    async fn user_token(&self, user: &str, password: &str) -> Result<String, AppError> {
        let app = &self.config.app_client;
        self.token(&[
            ("grant_type", "password"),
            ("client_id", &app.id),
            ("client_secret", &app.secret),
            ("username", user),
            ("password", password),
        ])
        .await
    }

    /// Sign a new user up: createUser with the app client's token.
    pub async fn sign_up(&self, user: &str, password: &str) -> Result<(), AppError> {
        let token = self.client_token(&self.config.app_client).await?;
        let answer = self
            .http
            .post(self.url("/api/v2/users"))
            .bearer_auth(token)
            .json(&serde_json::json!({ "id": user, "password": password }))
            .send()
            .await?;
        Self::json(answer).await.map(|_| ())
    }

    /// The ids of the mandator's users: getUserList with the admin client's token.
    pub async fn user_ids(&self) -> Result<Vec<String>, AppError> {
        let token = self.client_token(&self.config.admin_client).await?;
        let answer = self
            .http
            .get(self.url("/api/v2/mandatorAdmin/getUserList"))
            .bearer_auth(token)
            .send()
            .await?;
        let body = Self::json(answer).await?;
        Ok(body["users"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|u| u["userId"].as_str().map(String::from))
            .collect())
    }

    /// A user's accounts, read with that user's own token.
    pub async fn accounts(&self, user: &str, password: &str) -> Result<Value, AppError> {
        let token = self.user_token(user, password).await?;
        let answer = self
            .http
            .get(self.url("/api/v2/accounts"))
            .bearer_auth(token)
            .send()
            .await?;
        Self::json(answer).await
    }

    /// THE BUG, on purpose: reads accounts with the admin client's token. finAPI refuses it,
    /// and an app that sends it leaks its most powerful token to a user service.
    pub async fn accounts_with_admin_token(&self) -> Result<Value, AppError> {
        let token = self.client_token(&self.config.admin_client).await?;
        let answer = self
            .http
            .get(self.url("/api/v2/accounts"))
            .bearer_auth(token)
            .send()
            .await?;
        Self::json(answer).await
    }
}
