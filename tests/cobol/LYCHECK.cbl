       IDENTIFICATION DIVISION.
       PROGRAM-ID. LYCHECK.
      * The bank's side of a LYCRED file written by the platform, with
      * the bank's copybook COPYed unchanged: reads every record,
      * checks the header comes first and the trailer last, that every
      * detail is a credit or a debit with a positive packed amount, a
      * sequence number 1..n and a real value date, adds up its own
      * control totals (count, credits, debits, hash total of account
      * numbers) and says whether they agree with the trailer.
      * Prints H|..., D|..., X|record|field for a bad detail, T|... (the
      * trailer), C|... (its own totals) and AGREE or DISAGREE.
      * GnuCOBOL keeps text in ASCII: the fields shown are turned from
      * code page 037 with INSPECT ... CONVERTING (narratives, which
      * may hold accented letters, are not shown).
       ENVIRONMENT DIVISION.
       INPUT-OUTPUT SECTION.
       FILE-CONTROL.
           SELECT LYFILE ASSIGN TO WS-IN
               ORGANIZATION IS SEQUENTIAL.
       DATA DIVISION.
       FILE SECTION.
       FD  LYFILE RECORD CONTAINS 120 CHARACTERS.
       01  LY-RAW                      PIC X(120).
       WORKING-STORAGE SECTION.
       01  WS-IN                       PIC X(200).
       01  WS-EOF                      PIC X VALUE 'N'.
       01  WS-RECORD-NO                PIC 9(9) VALUE 0.
       01  WS-BAD                      PIC X(20).
       01  WS-STRUCTURE                PIC X VALUE 'Y'.
       01  WS-LAST-TYPE                PIC X VALUE SPACE.
       01  WS-COUNT                    PIC 9(9) COMP-3 VALUE 0.
       01  WS-CREDITS                  PIC S9(15)V99 COMP-3 VALUE 0.
       01  WS-DEBITS                   PIC S9(15)V99 COMP-3 VALUE 0.
       01  WS-HASH                     PIC 9(18) COMP-3 VALUE 0.
       01  WS-TRAILER-COUNT            PIC 9(9) VALUE 0.
       01  WS-TRAILER-CREDITS          PIC S9(15)V99 VALUE 0.
       01  WS-TRAILER-DEBITS           PIC S9(15)V99 VALUE 0.
       01  WS-TRAILER-HASH             PIC 9(17) VALUE 0.
       01  WS-EBCDIC.
           05  FILLER                  PIC X(11) VALUE
               X'40F0F1F2F3F4F5F6F7F8F9'.
           05  FILLER                  PIC X(13) VALUE
               X'C1C2C3C4C5C6C7C8C9D1D2D3D4'.
           05  FILLER                  PIC X(13) VALUE
               X'D5D6D7D8D9E2E3E4E5E6E7E8E9'.
           05  FILLER                  PIC X(13) VALUE
               X'81828384858687888991929394'.
           05  FILLER                  PIC X(13) VALUE
               X'9596979899A2A3A4A5A6A7A8A9'.
           05  FILLER                  PIC X(3) VALUE X'61604B'.
       01  WS-ASCII.
           05  FILLER                  PIC X(37) VALUE
               ' 0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'.
           05  FILLER                  PIC X(29) VALUE
               'abcdefghijklmnopqrstuvwxyz/-.'.
           COPY LYCRED.
       PROCEDURE DIVISION.
           ACCEPT WS-IN FROM ARGUMENT-VALUE
           OPEN INPUT LYFILE
           PERFORM UNTIL WS-EOF = 'Y'
               READ LYFILE INTO LY-RECORD
                   AT END MOVE 'Y' TO WS-EOF
                   NOT AT END PERFORM CHECK-RECORD
               END-READ
           END-PERFORM
           CLOSE LYFILE
           IF WS-LAST-TYPE NOT = 'T'
               MOVE 'N' TO WS-STRUCTURE
           END-IF
           DISPLAY 'C|' WS-COUNT '|' WS-CREDITS '|' WS-DEBITS '|'
               WS-HASH
           IF WS-STRUCTURE = 'Y'
               AND WS-COUNT = WS-TRAILER-COUNT
               AND WS-CREDITS = WS-TRAILER-CREDITS
               AND WS-DEBITS = WS-TRAILER-DEBITS
               AND WS-HASH = WS-TRAILER-HASH
               DISPLAY 'AGREE'
           ELSE
               DISPLAY 'DISAGREE'
           END-IF
           STOP RUN.

       CHECK-RECORD.
           ADD 1 TO WS-RECORD-NO
           INSPECT LY-REC-TYPE CONVERTING WS-EBCDIC TO WS-ASCII
           IF WS-LAST-TYPE = 'T'
               MOVE 'N' TO WS-STRUCTURE
           END-IF
           MOVE LY-REC-TYPE TO WS-LAST-TYPE
           EVALUATE TRUE
               WHEN LY-IS-HEADER
                   IF WS-RECORD-NO NOT = 1
                       MOVE 'N' TO WS-STRUCTURE
                   END-IF
                   PERFORM SHOW-HEADER
               WHEN LY-IS-TRAILER PERFORM SHOW-TRAILER
               WHEN OTHER
                   IF WS-RECORD-NO = 1
                       MOVE 'N' TO WS-STRUCTURE
                   END-IF
                   PERFORM CHECK-DETAIL
           END-EVALUATE.

       SHOW-HEADER.
           INSPECT LYH-FILE-ID CONVERTING WS-EBCDIC TO WS-ASCII
           INSPECT LYH-CREATION-DATE CONVERTING WS-EBCDIC TO WS-ASCII
           INSPECT LYH-CREATION-TIME CONVERTING WS-EBCDIC TO WS-ASCII
           INSPECT LYH-SOURCE-SYSTEM CONVERTING WS-EBCDIC TO WS-ASCII
           DISPLAY 'H|' LYH-FILE-ID '|' LYH-CREATION-DATE '|'
               LYH-CREATION-TIME '|' LYH-SOURCE-SYSTEM.

       CHECK-DETAIL.
           MOVE SPACES TO WS-BAD
           INSPECT LYD-CUSTOMER-NO CONVERTING WS-EBCDIC TO WS-ASCII
           INSPECT LYD-DIRECTION CONVERTING WS-EBCDIC TO WS-ASCII
           INSPECT LYD-CURRENCY CONVERTING WS-EBCDIC TO WS-ASCII
           INSPECT LYD-REFERENCE CONVERTING WS-EBCDIC TO WS-ASCII
           INSPECT LYD-VALUE-DATE CONVERTING WS-EBCDIC TO WS-ASCII
           IF NOT LY-IS-DETAIL
               MOVE 'LYD-REC-TYPE' TO WS-BAD
           END-IF
           IF WS-BAD = SPACES AND LYD-SEQUENCE-NO NOT NUMERIC
               MOVE 'LYD-SEQUENCE-NO' TO WS-BAD
           END-IF
           IF WS-BAD = SPACES AND LYD-SEQUENCE-NO NOT = WS-RECORD-NO - 1
               MOVE 'LYD-SEQUENCE-NO' TO WS-BAD
           END-IF
           IF WS-BAD = SPACES AND LYD-ACCOUNT-NO NOT NUMERIC
               MOVE 'LYD-ACCOUNT-NO' TO WS-BAD
           END-IF
           IF WS-BAD = SPACES AND NOT (LYD-CREDIT OR LYD-DEBIT)
               MOVE 'LYD-DIRECTION' TO WS-BAD
           END-IF
           IF WS-BAD = SPACES AND LYD-AMOUNT NOT NUMERIC
               MOVE 'LYD-AMOUNT' TO WS-BAD
           END-IF
           IF WS-BAD = SPACES AND LYD-AMOUNT NOT > 0
               MOVE 'LYD-AMOUNT' TO WS-BAD
           END-IF
           IF WS-BAD = SPACES
               IF LYD-VALUE-DATE NOT NUMERIC
                   MOVE 'LYD-VALUE-DATE' TO WS-BAD
               ELSE
                   IF FUNCTION TEST-DATE-YYYYMMDD(LYD-VALUE-DATE)
                       NOT = 0
                       MOVE 'LYD-VALUE-DATE' TO WS-BAD
                   END-IF
               END-IF
           END-IF
           ADD 1 TO WS-COUNT
           IF WS-BAD = SPACES
               IF LYD-CREDIT
                   ADD LYD-AMOUNT TO WS-CREDITS
               ELSE
                   ADD LYD-AMOUNT TO WS-DEBITS
               END-IF
               COMPUTE WS-HASH = FUNCTION MOD(WS-HASH + LYD-ACCOUNT-NO,
                   100000000000000000)
               DISPLAY 'D|' LYD-SEQUENCE-NO '|' LYD-CUSTOMER-NO '|'
                   LYD-ACCOUNT-NO '|' LYD-DIRECTION '|' LYD-AMOUNT '|'
                   LYD-CURRENCY '|' LYD-REFERENCE '|' LYD-VALUE-DATE
           ELSE
               MOVE 'N' TO WS-STRUCTURE
               DISPLAY 'X|' WS-RECORD-NO '|' WS-BAD
           END-IF.

       SHOW-TRAILER.
           IF LYT-RECORD-COUNT NOT NUMERIC
               OR LYT-TOTAL-CREDITS NOT NUMERIC
               OR LYT-TOTAL-DEBITS NOT NUMERIC
               OR LYT-HASH-TOTAL NOT NUMERIC
               MOVE 'N' TO WS-STRUCTURE
           ELSE
               MOVE LYT-RECORD-COUNT TO WS-TRAILER-COUNT
               MOVE LYT-TOTAL-CREDITS TO WS-TRAILER-CREDITS
               MOVE LYT-TOTAL-DEBITS TO WS-TRAILER-DEBITS
               MOVE LYT-HASH-TOTAL TO WS-TRAILER-HASH
           END-IF
           DISPLAY 'T|' WS-TRAILER-COUNT '|' WS-TRAILER-CREDITS '|'
               WS-TRAILER-DEBITS '|' WS-TRAILER-HASH.
