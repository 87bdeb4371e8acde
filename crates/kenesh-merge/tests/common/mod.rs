pub(crate) mod script;
