//! The scenario generator.
