//! Placeholder until the authorization table lands.
