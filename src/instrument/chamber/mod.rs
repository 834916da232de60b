//! Chambers: set a temperature and read it back (SCPI with command templates, `exec`).

use super::Result;
use async_trait::async_trait;

#[async_trait]
pub trait Chamber: Send {
    fn device(&self) -> &str;
    async fn set_point(&mut self, celsius: f64) -> Result<()>;
    async fn temperature(&mut self) -> Result<f64>;
}
