-- Seats given back by rejected orders, kept apart from the seats taken (concert.seats_claimed).
-- The statement that admits buyers locks its concert's row; were a rejection to give its seats
-- back on that row, the settling of payment results would queue behind every batch of buyers
-- during a sale, and the line would stop moving. Here a settling transaction adds to a row of its
-- own, and the admitting statement reads it without a lock: a count a moment old only offers
-- fewer seats than there are, never more. Seats free = capacity - seats_claimed + returned.
CREATE TABLE concert_seats_returned (
  concert_id UUID PRIMARY KEY REFERENCES concert (id),
  seats      INT  NOT NULL DEFAULT 0
);
