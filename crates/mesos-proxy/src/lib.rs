//! `mesos-proxy`: the recording man-in-the-middle between Mesos frameworks and
//! the master, and the packet-capture importer.
//!
//! Nothing is implemented here yet: recording (`mesos-proxy record`) and
//! capture import (`mesos-proxy import`) arrive with their own issues, and until
//! then this crate ships no binary, so nothing can pretend to work. It depends
//! on [`mesos_codec`] only, never on `mesos-replay`.
