//! The HTML run view (`ksim run --html`): one run drawn as a space-time diagram, a pure function of the run, so
//! the page is byte-identical per seed.

mod axis;
mod caption;
mod focus;
mod lanes;
mod overview;
mod page;
pub mod story;
pub mod svg;

pub use page::render;
