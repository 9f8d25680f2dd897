//! (data-a) mitbih
