//! The rules of replication, each as one small pure function with the table of cases that
//! pins it down. (Being filled in: see the commits that follow.)

pub mod committed;
pub mod epoch_end;
pub mod high_watermark;
pub mod isr_join;
pub mod isr_lag;
pub mod majority;
