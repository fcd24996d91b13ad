"""Placeholder until the coordinator forms are written; the signup form lives in members/signup.py."""
