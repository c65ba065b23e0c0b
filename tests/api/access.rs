//! Row and field rules by role, through every query shape.
