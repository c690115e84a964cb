-- Schema 45 (counter, issue 14): the float carried from one shift to the next. At the close the cashier says
-- how much cash stays in the drawer (the rest goes to the safe); the next shift on the terminal starts from it
-- and its opening count is compared with it.
CREATE TABLE shift_floats (
    shift_id    INTEGER PRIMARY KEY REFERENCES shifts (id),
    left_fen    INTEGER CHECK (left_fen IS NULL OR left_fen >= 0),     -- left in the drawer at this shift's close
    carried_fen INTEGER CHECK (carried_fen IS NULL OR carried_fen >= 0) -- what the previous shift left
);
