       IDENTIFICATION DIVISION.
       PROGRAM-ID. DOCHECK.
      * A COBOL compiler's view of the platform's files, with the bank's
      * copybooks COPYed unchanged.
      * 1. Reads a DOEXEC file written by the platform as a bank
      *    program would: prints every field of every record, the
      *    records it finds bad (packed fields not NUMERIC, impossible
      *    dates, status outside the 88 levels, amount not positive,
      *    record type), its own control totals, and whether they agree
      *    with the trailer.
      * 2. Writes a whole LYCRED file (header, a credit, a debit, the
      *    trailer) for the platform to read back and to reproduce byte
      *    for byte.
      * GnuCOBOL keeps text in ASCII: text and zoned fields are turned
      * from and to code page 037 with INSPECT ... CONVERTING through
      * the table below (IBM code page 037 for space, digits, letters
      * and the punctuation the test uses). Packed fields are COBOL's.
       ENVIRONMENT DIVISION.
       INPUT-OUTPUT SECTION.
       FILE-CONTROL.
           SELECT DOFILE ASSIGN TO WS-IN
               ORGANIZATION IS SEQUENTIAL.
           SELECT LYFILE ASSIGN TO WS-OUT
               ORGANIZATION IS SEQUENTIAL.
       DATA DIVISION.
       FILE SECTION.
       FD  DOFILE RECORD CONTAINS 150 CHARACTERS.
       01  DO-RAW                      PIC X(150).
       FD  LYFILE RECORD CONTAINS 120 CHARACTERS.
       01  LY-RAW                      PIC X(120).
       WORKING-STORAGE SECTION.
       01  WS-IN                       PIC X(200).
       01  WS-OUT                      PIC X(200).
       01  WS-EOF                      PIC X VALUE 'N'.
       01  WS-RECORD-NO                PIC 9(9) VALUE 0.
       01  WS-BAD                      PIC X(20).
       01  WS-COUNT                    PIC 9(9) COMP-3 VALUE 0.
       01  WS-TOTAL                    PIC S9(15)V99 COMP-3 VALUE 0.
       01  WS-HASH                     PIC 9(18) COMP-3 VALUE 0.
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
           COPY DOEXEC.
           COPY LYCRED.
       PROCEDURE DIVISION.
           ACCEPT WS-IN FROM ARGUMENT-VALUE
           ACCEPT WS-OUT FROM ARGUMENT-VALUE
           OPEN INPUT DOFILE
           PERFORM UNTIL WS-EOF = 'Y'
               READ DOFILE INTO DO-RECORD
                   AT END MOVE 'Y' TO WS-EOF
                   NOT AT END PERFORM SHOW-RECORD
               END-READ
           END-PERFORM
           CLOSE DOFILE
           PERFORM WRITE-LYCRED
           STOP RUN.

       SHOW-RECORD.
           ADD 1 TO WS-RECORD-NO
           INSPECT DO-REC-TYPE CONVERTING WS-EBCDIC TO WS-ASCII
           EVALUATE TRUE
               WHEN DO-IS-HEADER PERFORM SHOW-HEADER
               WHEN DO-IS-TRAILER PERFORM SHOW-TRAILER
               WHEN OTHER PERFORM SHOW-DETAIL
           END-EVALUATE.

       SHOW-HEADER.
           INSPECT DOH-FILE-ID CONVERTING WS-EBCDIC TO WS-ASCII
           INSPECT DOH-RUN-DATE CONVERTING WS-EBCDIC TO WS-ASCII
           INSPECT DOH-SOURCE-SYSTEM CONVERTING WS-EBCDIC TO WS-ASCII
           DISPLAY 'H|' DOH-FILE-ID '|' DOH-RUN-DATE '|'
               DOH-RUN-NUMBER '|' DOH-SOURCE-SYSTEM.

       SHOW-DETAIL.
           MOVE SPACES TO WS-BAD
           INSPECT DOD-CUSTOMER-NO CONVERTING WS-EBCDIC TO WS-ASCII
           INSPECT DOD-USER-CODE CONVERTING WS-EBCDIC TO WS-ASCII
           INSPECT DOD-USER-SHORT-NAME CONVERTING WS-EBCDIC TO WS-ASCII
           INSPECT DOD-USER-REFERENCE CONVERTING WS-EBCDIC TO WS-ASCII
           INSPECT DOD-ACTION-DATE CONVERTING WS-EBCDIC TO WS-ASCII
           INSPECT DOD-CURRENCY CONVERTING WS-EBCDIC TO WS-ASCII
           INSPECT DOD-STATUS CONVERTING WS-EBCDIC TO WS-ASCII
           INSPECT DOD-ENTRY-CLASS CONVERTING WS-EBCDIC TO WS-ASCII
           INSPECT DOD-ORIG-RUN-DATE CONVERTING WS-EBCDIC TO WS-ASCII
      *    In field order, so that the first bad field is the one named.
           IF NOT DO-IS-DETAIL
               MOVE 'DOD-REC-TYPE' TO WS-BAD
           END-IF
           IF WS-BAD = SPACES AND DOD-SEQUENCE-NO NOT NUMERIC
               MOVE 'DOD-SEQUENCE-NO' TO WS-BAD
           END-IF
           IF WS-BAD = SPACES AND DOD-ACCOUNT-NO NOT NUMERIC
               MOVE 'DOD-ACCOUNT-NO' TO WS-BAD
           END-IF
           IF WS-BAD = SPACES
               IF DOD-ACTION-DATE NOT NUMERIC
                   MOVE 'DOD-ACTION-DATE' TO WS-BAD
               ELSE
                   IF FUNCTION TEST-DATE-YYYYMMDD(DOD-ACTION-DATE)
                       NOT = 0
                       MOVE 'DOD-ACTION-DATE' TO WS-BAD
                   END-IF
               END-IF
           END-IF
           IF WS-BAD = SPACES AND DOD-AMOUNT NOT NUMERIC
               MOVE 'DOD-AMOUNT' TO WS-BAD
           END-IF
           IF WS-BAD = SPACES
               AND NOT (DOD-PAID OR DOD-UNPAID OR DOD-REVERSED)
               MOVE 'DOD-STATUS' TO WS-BAD
           END-IF
           IF WS-BAD = SPACES AND DOD-ORIG-SEQUENCE-NO NOT NUMERIC
               MOVE 'DOD-ORIG-SEQUENCE-NO' TO WS-BAD
           END-IF
           IF WS-BAD = SPACES AND DOD-ORIG-RUN-DATE NOT = ZEROS
               IF FUNCTION TEST-DATE-YYYYMMDD(DOD-ORIG-RUN-DATE)
                   NOT = 0
                   MOVE 'DOD-ORIG-RUN-DATE' TO WS-BAD
               END-IF
           END-IF
           IF WS-BAD = SPACES AND DOD-AMOUNT NOT > 0
               MOVE 'DOD-AMOUNT' TO WS-BAD
           END-IF
      *    Control totals: every detail present; amounts and accounts
      *    wherever they can be read.
           ADD 1 TO WS-COUNT
           IF DOD-AMOUNT IS NUMERIC
               ADD DOD-AMOUNT TO WS-TOTAL
           END-IF
           IF DOD-ACCOUNT-NO IS NUMERIC
               COMPUTE WS-HASH = FUNCTION MOD(WS-HASH + DOD-ACCOUNT-NO,
                   100000000000000000)
           END-IF
           IF WS-BAD = SPACES
               DISPLAY 'D|' DOD-SEQUENCE-NO '|' DOD-CUSTOMER-NO '|'
                   DOD-ACCOUNT-NO '|' DOD-USER-CODE '|'
                   DOD-USER-SHORT-NAME '|' DOD-USER-REFERENCE '|'
                   DOD-ACTION-DATE '|' DOD-AMOUNT '|' DOD-CURRENCY '|'
                   DOD-STATUS '|' DOD-ENTRY-CLASS '|'
                   DOD-ORIG-SEQUENCE-NO '|' DOD-ORIG-RUN-DATE
           ELSE
               DISPLAY 'X|' WS-RECORD-NO '|' WS-BAD
           END-IF.

       SHOW-TRAILER.
           DISPLAY 'T|' DOT-RECORD-COUNT '|' DOT-TOTAL-AMOUNT '|'
               DOT-HASH-TOTAL
           DISPLAY 'C|' WS-COUNT '|' WS-TOTAL '|' WS-HASH
           IF WS-COUNT = DOT-RECORD-COUNT
               AND WS-TOTAL = DOT-TOTAL-AMOUNT
               AND WS-HASH = DOT-HASH-TOTAL
               DISPLAY 'AGREE'
           ELSE
               DISPLAY 'DISAGREE'
           END-IF.

       WRITE-LYCRED.
           OPEN OUTPUT LYFILE
           MOVE ALL X'40' TO LY-RECORD
           MOVE 'H' TO LYH-REC-TYPE
           MOVE 'LY20261120180005' TO LYH-FILE-ID
           MOVE 20261120 TO LYH-CREATION-DATE
           MOVE 180005 TO LYH-CREATION-TIME
           MOVE 'LOYALTY' TO LYH-SOURCE-SYSTEM
           INSPECT LYH-REC-TYPE CONVERTING WS-ASCII TO WS-EBCDIC
           INSPECT LYH-FILE-ID CONVERTING WS-ASCII TO WS-EBCDIC
           INSPECT LYH-CREATION-DATE CONVERTING WS-ASCII TO WS-EBCDIC
           INSPECT LYH-CREATION-TIME CONVERTING WS-ASCII TO WS-EBCDIC
           INSPECT LYH-SOURCE-SYSTEM CONVERTING WS-ASCII TO WS-EBCDIC
           WRITE LY-RAW FROM LY-HEADER-REC
           MOVE ALL X'40' TO LY-RECORD
           MOVE 1 TO LYD-SEQUENCE-NO
           MOVE '100234567890' TO LYD-CUSTOMER-NO
           MOVE 4071234567 TO LYD-ACCOUNT-NO
           MOVE 'C' TO LYD-DIRECTION
           MOVE 1234.56 TO LYD-AMOUNT
           MOVE 'LYPO000000000042' TO LYD-REFERENCE
           MOVE 'Rewards cash back' TO LYD-NARRATIVE
           PERFORM WRITE-LYCRED-DETAIL
           MOVE ALL X'40' TO LY-RECORD
           MOVE 2 TO LYD-SEQUENCE-NO
           MOVE 'C00000000002' TO LYD-CUSTOMER-NO
           MOVE 9999999999999 TO LYD-ACCOUNT-NO
           MOVE 'D' TO LYD-DIRECTION
           MOVE 99.01 TO LYD-AMOUNT
           MOVE 'FEE/2026-11' TO LYD-REFERENCE
           MOVE 'Programme fee.' TO LYD-NARRATIVE
           PERFORM WRITE-LYCRED-DETAIL
           MOVE ALL X'40' TO LY-RECORD
           MOVE 'T' TO LYT-REC-TYPE
           INSPECT LYT-REC-TYPE CONVERTING WS-ASCII TO WS-EBCDIC
           MOVE 2 TO LYT-RECORD-COUNT
           MOVE 1234.56 TO LYT-TOTAL-CREDITS
           MOVE 99.01 TO LYT-TOTAL-DEBITS
           MOVE 10004071234566 TO LYT-HASH-TOTAL
           WRITE LY-RAW FROM LY-TRAILER-REC
           CLOSE LYFILE.

       WRITE-LYCRED-DETAIL.
           MOVE 'D' TO LYD-REC-TYPE
           MOVE 'ZAR' TO LYD-CURRENCY
           MOVE 20261121 TO LYD-VALUE-DATE
           INSPECT LYD-REC-TYPE CONVERTING WS-ASCII TO WS-EBCDIC
           INSPECT LYD-CUSTOMER-NO CONVERTING WS-ASCII TO WS-EBCDIC
           INSPECT LYD-DIRECTION CONVERTING WS-ASCII TO WS-EBCDIC
           INSPECT LYD-CURRENCY CONVERTING WS-ASCII TO WS-EBCDIC
           INSPECT LYD-REFERENCE CONVERTING WS-ASCII TO WS-EBCDIC
           INSPECT LYD-NARRATIVE CONVERTING WS-ASCII TO WS-EBCDIC
           INSPECT LYD-VALUE-DATE CONVERTING WS-ASCII TO WS-EBCDIC
           WRITE LY-RAW FROM LY-DETAIL-REC.
